"""The printable report as PDF: the HTML report (``reports.html``) rendered by WeasyPrint.

WeasyPrint is imported lazily: it is slow to import and only this function needs it. It never
fetches anything from the network: the report is one self-contained document (inline CSS and SVG).
"""

from __future__ import annotations

import datetime as dt
import gettext

from omscds.errors import OmscdsError
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, Case
from omscds.reports.html import render_report_html

__all__ = ["html_to_pdf", "render_report_pdf"]


def html_to_pdf(html: str) -> bytes:
    """Render a self-contained HTML document to PDF bytes (external URLs are refused)."""
    try:
        import weasyprint
    except OSError as exc:  # Pango/HarfBuzz system libraries missing
        raise OmscdsError(
            f"PDF rendering needs WeasyPrint's system libraries (Pango): {exc}"
        ) from None
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    # only inline data: URLs; anything else stops rendering (a report never reaches out)
    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    try:
        pdf = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    except FatalURLFetchingError as exc:
        raise OmscdsError(f"the report tried to load an external resource: {exc}") from None
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf() without a target
        raise OmscdsError("WeasyPrint returned no PDF")
    return pdf


def render_report_pdf(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    translations: gettext.NullTranslations | None = None,
    lang: str = "en",
    case: Case | None = None,
    generated: dt.datetime | None = None,
    parents: bool = False,
) -> bytes:
    """The report as PDF: page 1 the summary, the inputs (``case``), the generation time, the
    versions and a sign-off line; then recommendations, probability, charts, citations and the
    disclaimer; ``parents`` adds a plain-language page."""
    return html_to_pdf(
        render_report_html(
            a,
            kb,
            translations=translations,
            lang=lang,
            case=case,
            generated=generated,
            parents=parents,
        )
    )
