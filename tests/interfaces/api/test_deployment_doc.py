"""docs/deployment.md's table of settings, the Settings class and the variables named in src/
agree: every variable documented, none extra, none read that the class does not know."""

from __future__ import annotations

import re
from pathlib import Path

from omscds.interfaces.api import Settings

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "deployment.md"
#: names that start with OMSCDS_ but are not variables (a FHIR code-system constant)
NOT_VARIABLES = {"OMSCDS_CS"}


def _variables() -> set[str]:
    out = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        out.add(alias if isinstance(alias, str) else "OMSCDS_" + name.upper())
    return out


def _documented() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## Every setting", 1)[1]
    return re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, re.M)


def test_the_table_lists_every_setting_once_and_nothing_else() -> None:
    documented = _documented()
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    assert set(documented) == _variables()


def test_every_omscds_variable_named_in_src_is_a_setting() -> None:
    named = set()
    for path in (ROOT / "src" / "omscds").rglob("*.py"):
        named |= set(re.findall(r"\bOMSCDS_[A-Z][A-Z0-9_]*\b", path.read_text(encoding="utf-8")))
    named -= NOT_VARIABLES
    assert named, "the scan found nothing: it is broken"
    assert named <= _variables(), sorted(named - _variables())
