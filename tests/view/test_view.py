"""The view every face renders: the summary, the inputs, the parents' page, formatting."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case
from omscds.reasoning import assess_data
from omscds.view import build_view, format_age, percent
from tests.conftest import EXAMPLES

NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def _view(kb: KnowledgeBase, case: dict[str, Any], **kw: Any) -> Any:
    return build_view(assess_data(case, kb), kb, case=parse_case(case), **kw)


def test_the_summary_of_an_open_search(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    v = _view(kb, examples["seed1-02-mibg-negative"])
    s = v.summary
    assert s.phase == "search" and s.oms_short == "OMS criteria met"
    assert s.tumour.uncovered == ("neck", "chest", "abdomen", "pelvis") and not s.tumour.covered
    assert s.tumour.probability is not None
    assert s.next_action is not None and s.next_action.rule == "body_imaging"
    assert s.next_action.why.startswith("OMS-associated neuroblastic tumours are small")
    assert re.fullmatch(
        r"finds a tumour now with probability \d+%; \d+% left if negative", s.next_action.yield_text
    )
    # the standing urgent step is the reminder, not the next action
    assert s.reminder is not None and s.reminder.rule == "neurology_immunotherapy"
    assert s.headline == (
        "OMS criteria met: tumour search incomplete (neck, chest, abdomen, pelvis not imaged); "
        f"P(tumour) {percent(s.tumour.probability)}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_no_headline_probability_without_a_tumour_question(
    name: str, kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    v = _view(kb, examples[name])
    t = v.summary.tumour
    if t.status in ("not_applicable", "confirmed"):
        assert t.probability is None and "P(tumour)" not in v.summary.headline + t.text
    else:
        assert t.probability is not None and "P(tumour)" in v.summary.headline
    assert len(v.summary.headline) < 140
    assert v.inputs is not None and v.inputs.age
    # the plain-language page never carries a number the assessment does not have (none at all)
    assert not any(re.search(r"\d", p) for p in v.parents.paragraphs)
    assert any("does not diagnose" in p for p in v.parents.paragraphs)


def test_not_applicable_reads_as_no_question(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    v = _view(kb, examples["post-infectious-ataxia"])
    assert v.summary.tumour.status == "not_applicable"
    assert v.summary.headline == "OMS criteria not met: no tumour question"
    assert v.summary.tumour.search_text == "" and v.summary.reminder is None


def test_an_adult_search_names_the_adult_regions(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    s = _view(kb, examples["adult-oms-woman"]).summary
    assert s.tumour.uncovered == ("chest", "abdomen", "pelvis")
    assert s.reminder is not None and s.reminder.rule == "adult_neurology"


def test_a_reopened_search_counts_from_the_event(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    v = _view(kb, examples["child-oms-after-resection"])
    assert "(since 2026-11-10)" in v.summary.tumour.search_text
    assert v.summary.tumour.uncovered == ("neck", "chest", "abdomen", "pelvis")


def test_inputs_are_the_case_as_entered(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    v = _view(kb, examples["post-infectious-ataxia"])
    assert v.inputs is not None
    assert "Nystagmus" in v.inputs.present and "Myoclonus" in v.inputs.absent
    v = _view(kb, examples["seed1-02-mibg-negative"])
    assert v.inputs is not None and v.inputs.age == "1 y 7 mo"
    assert [(t.date, t.label) for t in v.inputs.tests] == [
        ("2024-03-04", "MRI"),
        ("2024-03-08", "123I-MIBG scintigraphy"),
    ]


def test_the_generation_time_is_given_not_read(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(examples["seed1-01-presentation"], kb)
    assert build_view(a, kb).meta.generated == ""
    when = dt.datetime(2026, 12, 2, 17, 5, tzinfo=dt.UTC)
    assert build_view(a, kb, generated=when).meta.generated == "2026-12-02 17:05 UTC"
    assert build_view(a, kb).inputs is None


def test_sentences_come_through_the_translator(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    def shout(s: str) -> str:
        return "".join(p if p.startswith("%(") else p.upper() for p in re.split(r"(%\(\w+\)s)", s))

    v = _view(kb, examples["seed1-02-mibg-negative"], tr=shout)
    assert v.summary.headline.startswith("OMS CRITERIA MET: TUMOUR SEARCH INCOMPLETE")
    assert v.notice == "DECISION SUPPORT, NOT A DIAGNOSIS."
    assert v.inputs is not None and v.inputs.age == "1 Y 7 MO"


@pytest.mark.parametrize(
    ("months", "text"), [(0, "0 mo"), (11.9, "11 mo"), (12, "1 y"), (19, "1 y 7 mo"), (216, "18 y")]
)
def test_age_in_years_and_months(months: float, text: str) -> None:
    assert format_age(months) == text
