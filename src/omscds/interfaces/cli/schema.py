"""``omscds schema case|assessment``: print the contract as JSON Schema."""

from __future__ import annotations

import json
from enum import StrEnum

import typer

__all__ = ["register", "schema_for"]


class Which(StrEnum):
    case = "case"
    assessment = "assessment"


def schema_for(which: str) -> dict[str, object]:
    from omscds.model import Assessment, Case

    if which == "case":
        schema = Case.model_json_schema(mode="validation")
    else:
        schema = Assessment.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://omscds.org/schema/{which}.json"
    return schema


def register(app: typer.Typer) -> None:
    @app.command("schema")
    def schema_cmd(
        which: Which = typer.Argument(..., help="case or assessment"),
    ) -> None:
        """Print the JSON Schema of the case or the assessment."""
        typer.echo(json.dumps(schema_for(which.value), indent=2))
