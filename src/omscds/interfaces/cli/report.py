"""``omscds report CASE -o report.html|report.pdf``: the printable, cited report of one case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from omscds.errors import InputError
from omscds.interfaces.cli._common import load_kb, out_console, read_document

__all__ = ["register"]

FORMATS = (".html", ".htm", ".pdf")


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        case: str = typer.Argument(..., help="Case file (JSON or YAML); '-' reads stdin."),
        output: str = typer.Option(
            ..., "--output", "-o", help="Where to write: report.html or report.pdf."
        ),
        lang: str = typer.Option("en", "--lang", help="Language of the report's own text."),
        knowledge: str | None = typer.Option(
            None, "--knowledge", help="Use another knowledge-base directory."
        ),
        parents: bool = typer.Option(
            False, "--parents", help="Add a plain-language page for parents (no numbers)."
        ),
    ) -> None:
        """Write the assessment as a printable report (HTML with print CSS, or PDF)."""
        # heavy imports (jinja2, weasyprint) only when this command runs
        from omscds.interfaces.service import assess_source
        from omscds.interfaces.web.i18n import get_translations, negotiate

        target = Path(output)
        suffix = target.suffix.lower()
        if suffix not in FORMATS:
            raise InputError(
                f"cannot tell the format from {output!r}: use a .html or .pdf file name",
                path="--output",
            )
        if target.parent and not target.parent.exists():
            raise InputError(f"no such directory: {target.parent}", path="--output")
        kb = load_kb(knowledge)
        assessed = assess_source("case", read_document(case), kb, today=dt.date.today())
        language = negotiate(lang)
        from omscds.reports.html import render_report_html

        html = render_report_html(
            assessed.assessment,
            kb,
            translations=get_translations(language),
            lang=language,
            case=assessed.intake.case,
            # the report says when it was made (the view itself never reads the clock)
            generated=dt.datetime.now(dt.UTC),
            parents=parents,
        )
        if suffix == ".pdf":
            from omscds.reports.pdf import html_to_pdf

            target.write_bytes(html_to_pdf(html))
        else:
            target.write_text(html, encoding="utf-8")
        out_console.print(f"wrote {target}", markup=False, highlight=False)
