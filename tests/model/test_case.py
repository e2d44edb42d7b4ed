from __future__ import annotations

from typing import Any

import pytest

from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case
from omscds.reasoning import resolve

BASE: dict[str, Any] = {"age_months": 19}


def test_minimal_case_defaults() -> None:
    c = parse_case(BASE)
    assert c.sex == "unknown" and c.findings == {} and c.tests == ()


def test_whole_body_modalities_default_to_whole_body(kb: KnowledgeBase) -> None:
    # the defaults are the knowledge base's (modalities.yaml), applied by resolve()
    c = resolve(
        parse_case(
            {
                **BASE,
                "tests": [
                    {"modality": "mibg", "result": "negative"},
                    {"modality": "perfusion_spect", "result": "positive"},
                ],
            }
        ),
        kb,
    ).case
    assert c.tests[0].regions == ("whole_body",)
    assert c.tests[1].regions == ("brain",)


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"age_months": -1}, "age_months", "greater than or equal to 0"),
        ({}, "age_months", "required"),
        ({"age_months": "old"}, "age_months", "number"),
        ({**BASE, "sex": "f"}, "sex", "'f' is not one of"),
        ({**BASE, "findings": {"ataxia": "yes"}}, "findings.ataxia", "'yes' is not one of"),
        (
            {**BASE, "tests": [{"modality": "mibg", "result": "postive"}]},
            "tests[0].result",
            "'postive' is not one of",
        ),
        (
            {**BASE, "tests": [{"modality": "pet", "result": "negative"}]},
            "tests[0].modality",
            "'pet' is not one of",
        ),
        (
            {**BASE, "tests": [{"modality": "ct", "regions": ["belly"], "result": "negative"}]},
            "tests[0].regions[0]",
            "'belly' is not one of",
        ),
        (
            {
                **BASE,
                "tests": [{"modality": "ct", "regions": ["chest", "chest"], "result": "negative"}],
            },
            "tests[0].regions",
            "twice",
        ),
        (
            {**BASE, "tests": [{"modality": "biopsy", "result": "positive", "histology": "nb"}]},
            "tests[0].histology",
            "'nb' is not one of",
        ),
        (
            {
                **BASE,
                "tests": [
                    {
                        "modality": "ct",
                        "regions": ["chest"],
                        "result": "negative",
                        "date": "yesterday",
                    }
                ],
            },
            "tests[0].date",
            "date",
        ),
        (
            {**BASE, "history": {"symptom_duration_weeks": -2}},
            "history.symptom_duration_weeks",
            "greater than or equal",
        ),
        ({**BASE, "colour": "red"}, "colour", "unknown field"),
        (
            {
                **BASE,
                "tests": [
                    {"modality": "ct", "regions": ["chest"], "result": "negative", "comment": "x"}
                ],
            },
            "tests[0].comment",
            "unknown field",
        ),
    ],
)
def test_bad_input_names_the_field(data: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_case(data)
    assert info.value.path == path
    assert fragment in info.value.message


def test_regions_are_required_where_the_knowledge_base_says(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        resolve(parse_case({**BASE, "tests": [{"modality": "ct", "result": "negative"}]}), kb)
    assert info.value.path == "tests[0].regions"
    assert "required for ct" in info.value.message


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"age_months": True}, "age_months", "valid number"),
        ({"age_months": "19"}, "age_months", "valid number"),
        ({**BASE, "case_id": "a\u202eb"}, "case_id", "U+202E"),
        (
            {**BASE, "history": {"symptom_duration_weeks": False}},
            "history.symptom_duration_weeks",
            "number",
        ),
        (
            {
                **BASE,
                "visit_date": "2024-01-01",
                "tests": [{"modality": "mibg", "result": "negative", "date": "2024-02-01"}],
            },
            "tests[0].date",
            "after the visit date",
        ),
    ],
)
def test_input_that_would_change_meaning_is_refused(
    data: dict[str, Any], path: str, fragment: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_case(data)
    assert info.value.path == path
    assert fragment in info.value.message


def test_dates_after_today_are_refused() -> None:
    import datetime as dt

    case = {**BASE, "tests": [{"modality": "mibg", "result": "negative", "date": "2030-01-01"}]}
    parse_case(case)  # without a clock the core cannot know
    with pytest.raises(InputError) as info:
        parse_case(case, today=dt.date(2026, 12, 2))
    assert info.value.path == "tests[0].date" and "future" in info.value.message


def test_extensions_are_allowed() -> None:
    c = parse_case({**BASE, "extensions": {"site": "x"}})
    assert c.extensions == {"site": "x"}


def test_not_an_object() -> None:
    with pytest.raises(InputError, match="must be a JSON/YAML object"):
        parse_case([1, 2])


def test_every_error_is_reported() -> None:
    with pytest.raises(InputError) as info:
        parse_case({"age_months": -1, "sex": "x"})
    assert {p for p, _ in info.value.errors} == {"age_months", "sex"}
