"""``omscds validate CASE...``: check case files against the contract and the vocabulary."""

from __future__ import annotations

import datetime as dt

import typer

from omscds.errors import OmscdsError
from omscds.interfaces.cli._common import load_kb, out_console, print_error, read_document

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(
        cases: list[str] = typer.Argument(..., help="Case files (JSON or YAML); '-' reads stdin."),
    ) -> None:
        """Validate case files; print every problem with its field path."""
        from omscds.model import parse_case
        from omscds.reasoning import resolve

        kb = load_kb()
        failed = False
        for path in cases:
            try:
                resolve(parse_case(read_document(path), today=dt.date.today()), kb)
            except OmscdsError as exc:
                print_error(exc, path)
                failed = True
            else:
                out_console.print(f"{path}: valid")
        if failed:
            raise typer.Exit(2)
