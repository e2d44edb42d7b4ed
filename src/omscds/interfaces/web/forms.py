"""The case-entry form: HTML form fields <-> a case document, and error paths -> form fields.

Field names mirror the case's own paths (``age_months``, ``findings.ataxia``,
``tests[1].regions``), so an ``InputError`` path names the input it belongs to. Blank test rows
are dropped and the rest renumbered in order, so ``tests[i]`` in an error is row ``i`` of the
re-rendered form. Case fields the form does not show (severity, extensions, HPO-keyed findings,
quantitative results) travel in hidden JSON fields and are never lost.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omscds.knowledge import KnowledgeBase
from omscds.model import History

__all__ = [
    "BOOL_HISTORY",
    "FORM_HISTORY",
    "NUMBER_HISTORY",
    "CaseForm",
    "TestRow",
    "errors_by_field",
    "field_id",
    "field_of",
]

#: history fields, split by kind, from the case model itself
BOOL_HISTORY: tuple[str, ...] = tuple(
    name
    for name, f in History.model_fields.items()
    if bool in typing.get_args(f.annotation) or f.annotation is bool
)
NUMBER_HISTORY: tuple[str, ...] = tuple(
    name
    for name, f in History.model_fields.items()
    if name not in BOOL_HISTORY
    and (float in typing.get_args(f.annotation) or f.annotation is float)
)
#: the history fields the form shows; structured ones (dates, course, prior cancer, resection)
#: travel in the hidden ``extra`` JSON so that nothing is lost
FORM_HISTORY: tuple[str, ...] = BOOL_HISTORY + NUMBER_HISTORY

#: test fields the form shows; the rest of a test goes into the row's hidden ``extra`` JSON
_ROW_FIELDS = ("modality", "regions", "result", "date", "findings", "location", "histology", "note")
_ROW_NAME = re.compile(r"^tests\[(\d+)\]\.(\w+)$")
_INDEX_TAIL = re.compile(r"(\[\d+\])+$")


def field_id(name: str) -> str:
    """A safe HTML id for a field name.

    >>> field_id("tests[1].regions")
    'f-tests-1--regions'
    """
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _number(text: str) -> Any:
    """``"19"`` -> 19, ``"1.5"`` -> 1.5; anything else stays text for the validator to name."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else ""


@dataclass
class TestRow:
    modality: str = ""
    regions: tuple[str, ...] = ()
    result: str = ""
    date: str = ""
    findings: str = ""
    location: str = ""
    histology: str = ""
    note: str = ""
    extra: str = ""

    def is_blank(self) -> bool:
        shown = (self.modality, self.regions, self.result, self.date, self.findings)
        return not any((*shown, self.location, self.histology, self.note, self.extra))

    @classmethod
    def from_test(cls, test: Mapping[str, Any]) -> TestRow:
        rest = {k: v for k, v in test.items() if k not in _ROW_FIELDS}
        return cls(
            modality=str(test.get("modality") or ""),
            regions=tuple(str(r) for r in test.get("regions") or ()),
            result=str(test.get("result") or ""),
            date=str(test.get("date") or ""),
            findings=", ".join(str(f) for f in test.get("findings") or ()),
            location=str(test.get("location") or ""),
            histology=str(test.get("histology") or ""),
            note=str(test.get("note") or ""),
            extra=_dumps(rest),
        )

    def to_test(self, path: str, errors: list[tuple[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.extra.strip():
            try:
                rest = json.loads(self.extra)
                if not isinstance(rest, dict):
                    raise ValueError
                out.update(rest)
            except ValueError:
                errors.append((f"{path}.extra", "hidden extra data is not a JSON object"))
        for name in ("modality", "result", "date", "location", "histology", "note"):
            value = str(getattr(self, name)).strip()
            if value:
                out[name] = value
        if self.regions:
            out["regions"] = list(self.regions)
        found = [f.strip() for f in re.split(r"[,;\n]", self.findings) if f.strip()]
        if found:
            out["findings"] = found
        return out


@dataclass
class CaseForm:
    """What the form shows; built from posted fields or from a case document."""

    case_id: str = ""
    age_months: str = ""
    sex: str = "unknown"
    findings: dict[str, str] = field(default_factory=dict)
    history: dict[str, str] = field(default_factory=dict)
    tests: list[TestRow] = field(default_factory=list)
    extra: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, Sequence[str]], kb: KnowledgeBase) -> CaseForm:
        """From posted form fields (each name -> all its values)."""

        def one(name: str) -> str:
            values = fields.get(name) or ()
            return str(values[0]) if values else ""

        rows: dict[int, TestRow] = {}
        for name, values in fields.items():
            m = _ROW_NAME.match(name)
            if not m or m.group(2) not in (*_ROW_FIELDS, "extra"):
                continue
            row = rows.setdefault(int(m.group(1)), TestRow())
            if m.group(2) == "regions":
                row.regions = tuple(str(v) for v in values if str(v))
            else:
                setattr(row, m.group(2), str(values[0]) if values else "")
        return cls(
            case_id=one("case_id").strip(),
            age_months=one("age_months").strip(),
            sex=one("sex") or "unknown",
            findings={k: one(f"findings.{k}") or "unknown" for k in kb.findings},
            history={k: one(f"history.{k}").strip() for k in FORM_HISTORY},
            tests=[rows[i] for i in sorted(rows) if not rows[i].is_blank()],
            extra=one("extra"),
        )

    @classmethod
    def from_case(cls, data: Mapping[str, Any], kb: KnowledgeBase) -> CaseForm:
        """From a case document (an example, or the case behind an assessment)."""
        findings = dict(data.get("findings") or {})
        history = dict(data.get("history") or {})
        shown = {"case_id", "age_months", "sex", "findings", "history", "tests"}
        rest = {k: v for k, v in data.items() if k not in shown}
        other = {k: v for k, v in findings.items() if k not in kb.findings}
        if other:
            rest["findings"] = other
        structured = {k: v for k, v in history.items() if k not in FORM_HISTORY}
        if structured:
            rest["history"] = structured
        hist: dict[str, str] = {}
        for name in FORM_HISTORY:
            value = history.get(name)
            if value is None:
                hist[name] = ""
            elif isinstance(value, bool):
                hist[name] = "yes" if value else "no"
            else:
                hist[name] = f"{value:g}" if isinstance(value, float) else str(value)
        age = data.get("age_months")
        return cls(
            case_id=str(data.get("case_id") or ""),
            age_months="" if age is None else (f"{age:g}" if isinstance(age, float) else str(age)),
            sex=str(data.get("sex") or "unknown"),
            findings={k: str(findings.get(k, "unknown")) for k in kb.findings},
            history=hist,
            tests=[TestRow.from_test(t) for t in data.get("tests") or () if isinstance(t, dict)],
            extra=_dumps(rest),
        )

    def to_case(self) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The case document, and errors the form itself found (hidden data that is not JSON).

        Values are passed on as typed (a number that is not a number stays text) so that
        ``parse_case`` names the field.
        """
        errors: list[tuple[str, str]] = []
        case: dict[str, Any] = {}
        extra_findings: dict[str, Any] = {}
        extra_history: dict[str, Any] = {}
        if self.extra.strip():
            try:
                rest = json.loads(self.extra)
                if not isinstance(rest, dict):
                    raise ValueError
                extra_findings = dict(rest.pop("findings", None) or {})
                extra_history = rest.pop("history", None) or {}
                if not isinstance(extra_history, dict):
                    raise ValueError
                case.update(rest)
            except ValueError:
                errors.append(("extra", "hidden extra data is not a JSON object"))
        if self.case_id:
            case["case_id"] = self.case_id
        if self.age_months:
            case["age_months"] = _number(self.age_months)
        case["sex"] = self.sex or "unknown"
        findings = {k: v for k, v in self.findings.items() if v and v != "unknown"}
        findings.update(extra_findings)
        if findings:
            case["findings"] = findings
        history: dict[str, Any] = dict(extra_history)
        for name, text in self.history.items():
            if not text:
                continue
            if name in BOOL_HISTORY:
                history[name] = {"yes": True, "no": False}.get(text, text)
            else:
                history[name] = _number(text)
        if history:
            case["history"] = history
        if self.tests:
            case["tests"] = [row.to_test(f"tests[{i}]", errors) for i, row in enumerate(self.tests)]
        return case, errors

    def rows_for_display(self, spare: int = 2, minimum: int = 3) -> list[TestRow]:
        """The test rows plus blank ones, so the form works without JavaScript."""
        count = max(len(self.tests) + spare, minimum)
        return [*self.tests, *(TestRow() for _ in range(count - len(self.tests)))]


def errors_by_field(errors: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Group error messages by the form field they belong to.

    ``tests[1].findings[0]`` belongs to the input ``tests[1].findings``.

    >>> errors_by_field([("tests[1].findings[0]", "unknown"), ("age_months", "missing")])
    {'tests[1].findings': ['unknown'], 'age_months': ['missing']}
    """
    out: dict[str, list[str]] = {}
    for path, message in errors:
        out.setdefault(field_of(path), []).append(message)
    return out


def field_of(path: str) -> str:
    """The form field an error path belongs to.

    >>> field_of("tests[1].findings[0]"), field_of("tests[0]")
    ('tests[1].findings', 'tests[0]')
    """
    return _INDEX_TAIL.sub("", path) if "." in path else path
