"""The assessment as HTML: one Jinja2 partial shared by the printable report and the web page.

``render_report_html`` gives a standalone document with print CSS (the input of the PDF);
``assessment_context`` gives the variables the partial ``_assessment.html.j2`` needs, so the web
page renders exactly the same sections. Both lead with the view's summary (``omscds.view``). Translations (gettext) are passed in by the interface;
the default is English source strings.
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, Case, Recommendation
from omscds.reasoning.workup import URGENCY_ORDER
from omscds.reports.charts import assessment_charts, body_diagram_svg, probability_steps_svg
from omscds.view import N_, WORDS, CitationIndex, build_view, percent, shows_probability, word

__all__ = [
    "N_",
    "TEMPLATES_DIR",
    "WORDS",
    "Citations",
    "assessment_context",
    "make_environment",
    "render_report_html",
]

TEMPLATES_DIR = Path(__file__).with_name("templates")
#: how many differential entries and next-best studies the printed report lists (the web page
#: and the JSON list all; the report says how many more there are)
REPORT_DIFFERENTIAL = 3
REPORT_NEXT_TESTS = 3


class Citations(CitationIndex):
    """The view's citation numbering, called in templates: ``cite(sources)`` gives ``[1, 2]``
    linked to the reference list; ``references()`` lists them at the end."""

    def __call__(self, sources: Sequence[str]) -> Markup:
        """``[1, 2]`` with links to the reference list (an empty string for no sources)."""
        nums = self.numbers(sources)
        if not nums:
            return Markup("")
        parts = [
            f'<a href="#ref-{n}" class="cite">{n}</a>'
            if isinstance(n, int)
            else f'<span class="assume">{escape(n)}</span>'
            for n in nums
        ]
        return Markup(f' <span class="cites">[{", ".join(parts)}]</span>')


def short_link(url: str) -> str:
    """A link as printed: ``doi:``, ``PMID``, or the address without its scheme.

    >>> short_link("https://doi.org/10.1/x"), short_link("https://pubmed.ncbi.nlm.nih.gov/123/")
    ('doi:10.1/x', 'PMID 123')
    """
    for prefix, short in (
        ("https://doi.org/", "doi:"),
        ("https://pubmed.ncbi.nlm.nih.gov/", "PMID "),
    ):
        if url.startswith(prefix):
            return short + url.removeprefix(prefix).rstrip("/")
    return url.removeprefix("https://").removeprefix("http://").removeprefix("www.")


def _group_recommendations(
    recs: Sequence[Recommendation],
) -> list[tuple[str, list[Recommendation]]]:
    groups = []
    for urgency in sorted(URGENCY_ORDER, key=URGENCY_ORDER.__getitem__):
        items = [r for r in recs if r.urgency == urgency]
        if items:
            groups.append((urgency, items))
    return groups


def assessment_context(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    tr: Callable[[str], str] | None = None,
    id_prefix: str = "a",
    case: Case | None = None,
    generated: dt.datetime | None = None,
    report: bool = False,
    parents: bool = False,
) -> dict[str, Any]:
    """Variables for ``_assessment.html.j2``: the view (summary first), the assessment,
    citations, labels and charts. ``report`` adds the printed report's first page (inputs,
    versions, sign-off); ``parents`` its plain-language page."""
    t = tr or (lambda s: s)
    modality_labels = {k: m.label for k, m in kb.modalities.items()}
    view = build_view(a, kb, case=case, tr=t, generated=generated)

    def word_(value: str) -> str:
        return word(value, t)

    def evidence_label(path: str) -> str:
        if path.startswith("findings."):
            key = path.removeprefix("findings.")
            f = kb.findings.get(key)
            return f.label if f else key
        return path

    return {
        "a": a,
        "kb": kb,
        "view": view,
        "report": report,
        "parents": parents,
        "cite": Citations(kb),
        "word": word_,
        "modality": lambda m: modality_labels.get(m, m) if m else "",
        "evidence_labels": lambda paths: ", ".join(map(evidence_label, paths)),
        "words": lambda values: ", ".join(map(word_, values)),
        "pct": percent,
        "short_link": short_link if report else str,
        "rec_groups": _group_recommendations(a.recommendations),
        # the printed report keeps to three pages: the leading entries of the long lists
        "shown": {
            "differential": REPORT_DIFFERENTIAL if report else len(a.differential),
            "next_tests": REPORT_NEXT_TESTS if report else len(a.tumour.next_tests),
        },
        # the explanation charts on the page (the printed report keeps to three pages)
        "charts": (
            {"differential": (), "tests": None, "sensitivity": None}
            if report
            else assessment_charts(a, kb, tr=word_, id_prefix=id_prefix)
        ),
        "steps_svg": Markup(
            probability_steps_svg(
                a.tumour, labels=modality_labels, tr=word_, id_prefix=f"{id_prefix}-steps"
            )
        ),
        "body_svg": Markup(
            body_diagram_svg(
                {r.region: r.covered_by for r in view.summary.tumour.regions},
                dict(a.tumour.region_probabilities.items())
                if shows_probability(a.tumour.status)
                else None,
                labels=modality_labels,
                tr=word_,
                id_prefix=f"{id_prefix}-body",
            )
        ),
    }


#: the view's percent format under its old name (kept for callers that import it from here)
_pct = percent


def make_environment(
    translations: gettext.NullTranslations | None = None,
    extra_dirs: Sequence[Path] = (),
) -> Environment:
    """A Jinja2 environment over ``extra_dirs`` then the report templates, with gettext."""
    env = Environment(
        loader=FileSystemLoader([*map(str, extra_dirs), str(TEMPLATES_DIR)]),
        autoescape=select_autoescape(["html", "j2", "svg"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations or gettext.NullTranslations(), newstyle=True
    )
    env.filters["e_"] = escape
    return env


@lru_cache(maxsize=8)
def _default_env(translations: gettext.NullTranslations | None) -> Environment:
    return make_environment(translations)


def render_report_html(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    translations: gettext.NullTranslations | None = None,
    lang: str = "en",
    case: Case | None = None,
    generated: dt.datetime | None = None,
    parents: bool = False,
) -> str:
    """The printable report: a standalone HTML document (inline CSS and SVG, no external files).

    Page 1 is the summary, the inputs (when ``case`` is given), the generation time, the
    versions and a sign-off line; the details follow; ``parents`` adds a plain-language page.
    """
    env = _default_env(translations)
    tr = (translations or gettext.NullTranslations()).gettext
    ctx = assessment_context(
        a, kb, tr=tr, id_prefix="r", case=case, generated=generated, report=True, parents=parents
    )
    css = (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(**ctx, css=Markup(css), lang=lang, whatif=None)
