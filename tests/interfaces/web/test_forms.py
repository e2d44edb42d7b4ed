"""Form fields <-> case documents, and error paths -> the inputs they belong to."""

from __future__ import annotations

from typing import Any

import pytest

from omscds.interfaces.web.examples import example_names, load_example
from omscds.interfaces.web.forms import CaseForm, errors_by_field, field_id
from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case


@pytest.mark.parametrize("name", example_names())
def test_example_round_trips_through_the_form(name: str, kb: KnowledgeBase) -> None:
    data = load_example(name)
    case, errors = CaseForm.from_case(data, kb).to_case()
    assert errors == []
    assert parse_case(case) == parse_case(data)


def _post(form: CaseForm) -> dict[str, list[str]]:
    """What a browser would post for this form (blank rows included)."""
    fields: dict[str, list[str]] = {
        "case_id": [form.case_id],
        "age_months": [form.age_months],
        "sex": [form.sex],
        "extra": [form.extra],
    }
    fields |= {f"findings.{k}": [v] for k, v in form.findings.items()}
    fields |= {f"history.{k}": [v] for k, v in form.history.items()}
    for i, row in enumerate(form.rows_for_display()):
        p = f"tests[{i}]"
        for name in ("modality", "result", "date", "findings", "location", "histology", "note"):
            fields[f"{p}.{name}"] = [getattr(row, name)]
        fields[f"{p}.extra"] = [row.extra]
        if row.regions:
            fields[f"{p}.regions"] = list(row.regions)
    return fields


@pytest.mark.parametrize("name", ["seed2-03-histology", "seed1-03-ct-positive"])
def test_posted_fields_rebuild_the_case(name: str, kb: KnowledgeBase) -> None:
    data = load_example(name)
    form = CaseForm.from_fields(_post(CaseForm.from_case(data, kb)), kb)
    case, errors = form.to_case()
    assert errors == []
    assert parse_case(case) == parse_case(data)


def test_blank_rows_are_dropped_and_rows_renumbered(kb: KnowledgeBase) -> None:
    fields: dict[str, Any] = {
        "age_months": ["19"],
        "tests[0].modality": [""],
        "tests[3].modality": ["mibg"],
        "tests[3].result": ["negative"],
        "tests[7].modality": ["ct"],
        "tests[7].regions": ["chest", "abdomen"],
        "tests[7].result": ["positive"],
        "tests[7].findings": ["a, b"],
    }
    case, errors = CaseForm.from_fields(fields, kb).to_case()
    assert errors == []
    assert case["age_months"] == 19
    assert [t["modality"] for t in case["tests"]] == ["mibg", "ct"]
    assert case["tests"][1]["regions"] == ["chest", "abdomen"]
    assert case["tests"][1]["findings"] == ["a", "b"]


def test_bad_values_are_passed_on_for_the_validator_to_name(kb: KnowledgeBase) -> None:
    form = CaseForm.from_fields({"age_months": ["nineteen"], "history.relapse": ["yes"]}, kb)
    case, _ = form.to_case()
    assert case["age_months"] == "nineteen"
    assert case["history"] == {"relapse": True}
    bad = CaseForm(age_months="1", extra="[1, 2]")
    assert bad.to_case()[1] == [("extra", "hidden extra data is not a JSON object")]


def test_errors_by_field_and_ids() -> None:
    grouped = errors_by_field(
        [("tests[1].regions", "required"), ("tests[1].findings[2]", "unknown"), ("tests[0]", "x")]
    )
    assert grouped == {"tests[1].regions": ["required"], "tests[1].findings": ["unknown"],
                       "tests[0]": ["x"]}  # fmt: skip
    assert field_id("findings.HP:0001251") == "f-findings-HP-0001251"
