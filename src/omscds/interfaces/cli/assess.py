"""``omscds assess CASE... [--format text|json|markdown|brief]``."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from omscds.errors import InputError, OmscdsError
from omscds.interfaces.cli._common import (
    err_console,
    load_kb,
    out_console,
    print_error,
    read_document,
)

if TYPE_CHECKING:  # imported inside the command, so that `omscds --help` starts fast
    from omscds.knowledge import KnowledgeBase
    from omscds.model import Assessment, Case

__all__ = ["Format", "register", "render_text"]

STYLES = {
    "critical": "bold red",
    "warning": "yellow",
    "info": "cyan",
    "good": "green",
    "muted": "dim",
    "strong": "bold",
    "": "",
}


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    brief = "brief"


def render_text(a: Assessment, kb: KnowledgeBase, case: Case | None = None) -> Text:
    from omscds.reports import outline

    text = Text()
    for sec in outline(a, kb, case):
        text.append(f"\n{sec.title}\n", style="bold underline")
        for line in sec.lines:
            text.append("  " * line.indent + line.text + "\n", style=STYLES.get(line.style, ""))
    return text


def with_images(data: Any, images: list[str], kind: str | None) -> Any:
    """Quantify each study and append it to the case's tests as evidence."""
    from omscds.imaging import analyze_path, to_case_test  # heavy: SimpleITK, nibabel
    from omscds.model import parse_case

    case = parse_case(data)  # validate first, and take the age for the age-banded norms
    extra = []
    for image in images:
        result = analyze_path(image, kind, case.age_months)
        test = to_case_test(result)
        err_console.print(f"{image}: {test['note']}", markup=False, highlight=False)
        extra.append(test)
    return {**data, "tests": [*data.get("tests", []), *extra]}


def register(app: typer.Typer) -> None:
    @app.command("assess")
    def assess_cmd(
        cases: list[str] = typer.Argument(..., help="Case files (JSON or YAML); '-' reads stdin."),
        fmt: Format = typer.Option(
            Format.text, "--format", "-f", help="Output format (brief: one line per case)."
        ),
        knowledge: str | None = typer.Option(
            None, "--knowledge", help="Use another knowledge-base directory."
        ),
        images: list[str] = typer.Option(
            [],
            "--image",
            help="A SPECT or MRI study (NIfTI or DICOM) to quantify and add to the case's tests.",
        ),
        image_kind: str | None = typer.Option(
            None, "--image-kind", help="spect or mri (default: guessed from the study)."
        ),
    ) -> None:
        """Assess cases: OMS criteria, differential, tumour probability, work-up plan."""
        from omscds.interfaces.service import assess_source
        from omscds.reports import render_markdown

        kb = load_kb(knowledge)
        if images and len(cases) != 1:
            raise InputError("--image goes with exactly one case", path="--image")
        failed = False
        results: list[dict[str, object]] = []
        for path in cases:
            try:
                data = read_document(path)
                if images:
                    data = with_images(data, images, image_kind)
                assessed = assess_source("case", data, kb, today=dt.date.today())
                assessment, case = assessed.assessment, assessed.intake.case
            except OmscdsError as exc:
                print_error(exc, path)
                failed = True
                continue
            if fmt is Format.json:
                results.append(assessment.model_dump(mode="json"))
            elif fmt is Format.brief:
                from omscds.reports.brief import brief_line

                out_console.print(
                    brief_line(assessment, kb, Path(path).stem if path != "-" else None),
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            elif fmt is Format.markdown:
                out_console.print(
                    render_markdown(assessment, kb, case),
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                out_console.print(render_text(assessment, kb, case), soft_wrap=True)
        if fmt is Format.json and results:
            doc = results[0] if len(cases) == 1 else results
            typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        if failed:
            raise typer.Exit(2)
