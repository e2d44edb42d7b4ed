"""docs/case-format.md is the public contract: every field of both schemas is named in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from omscds.model import Assessment, Case

DOC = Path(__file__).resolve().parents[1] / "docs" / "case-format.md"


def _fields(schema: dict[str, Any], defs: dict[str, Any], seen: set[str]) -> set[str]:
    out: set[str] = set()
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return out
        seen.add(name)
        return _fields(defs[name], defs, seen)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            out |= _fields(sub, defs, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out |= _fields(schema[key], defs, seen)
    for name, sub in schema.get("properties", {}).items():
        out.add(name)
        out |= _fields(sub, defs, seen)
    return out


@pytest.mark.parametrize("model", [Case, Assessment])
def test_every_field_is_documented(model: Any) -> None:
    schema = model.model_json_schema()
    names = _fields(schema, schema.get("$defs", {}), set())
    text = DOC.read_text(encoding="utf-8")
    marks = ("`{}`", ".{}`", '"{}"')
    missing = sorted(n for n in names if not any(m.format(n) in text for m in marks))
    assert not missing, (
        f"fields of the {model.__name__} not named in docs/case-format.md: {missing}"
    )
