from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from omscds.model import parse_case
from omscds.storage import HistoryEntry, Registry, build_assessment_case


def _rec_ids(assessment: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["id"], r["kind"]) for r in assessment["recommendations"]]


@pytest.mark.parametrize(("months_later", "due"), [(1, False), (7, True)])
def test_old_negative_search_brings_repeat_imaging(
    registry: Registry, build: Any, months_later: int, due: bool
) -> None:
    registry.add_visit("S", build.visit(8, build.negative_search("2024-01-05")), "2024-01-10")
    later = dt.date(2024, 1, 10) + dt.timedelta(days=round(30.5 * months_later))
    registry.add_visit("S", build.visit(3), later)  # this visit records no tests itself
    stored = registry.history("S").latest_assessment
    assert stored is not None
    assert stored.input_case["visit_date"] == later.isoformat()
    assert stored.input_case["tests"][0]["date"] == "2024-01-05"  # carried forward
    assert stored.assessment["tumour"]["status"] == "not_found"
    fired = [
        rid
        for rid, kind in _rec_ids(stored.assessment)
        if "surveillance" in rid
        and kind in ("imaging", "follow_up")
        and rid != "surveillance_after_negative_search"
    ]
    assert bool(fired) is due


def test_relapse_event_reopens_the_tumour_question(registry: Registry, build: Any) -> None:
    registry.add_visit("L", build.visit(10, build.negative_search("2024-01-05")), "2024-01-10")
    registry.add_visit("L", build.visit(0), "2024-03-01")
    quiet = registry.history("L").latest_assessment
    registry.add_relapse("L", "2024-04-20")
    registry.add_visit("L", build.visit(7), "2024-04-25")
    relapsed = registry.history("L").latest_assessment
    assert quiet is not None and relapsed is not None
    assert "relapse" not in quiet.input_case.get("history", {})
    assert relapsed.input_case["history"]["relapse"] is True
    assert "relapse_renewed_search" in {r for r, _ in _rec_ids(relapsed.assessment)}
    assert "relapse_renewed_search" not in {r for r, _ in _rec_ids(quiet.assessment)}


def test_tumour_resection_course_sets_prior_resection(registry: Registry, build: Any) -> None:
    registry.add_treatment("X", "tumour resection", "2023-05-01", "2023-05-01")
    registry.add_visit("X", build.visit(2), "2023-09-01")
    stored = registry.history("X").latest_assessment
    assert stored is not None and stored.input_case["history"]["prior_tumour_resected"] is True


def _entry(date: str, tests: list[dict[str, Any]] | None = None, **extra: Any) -> HistoryEntry:
    data: dict[str, Any] = {"age_months": 30, **extra}
    if tests:
        data["tests"] = tests
    return HistoryEntry(dt.date.fromisoformat(date), parse_case(data))


def test_carry_forward_order_dates_and_dedup() -> None:
    mibg = {"modality": "mibg", "result": "negative"}
    ct = {"modality": "ct", "regions": ["chest"], "result": "negative", "date": "2024-02-01"}
    first = _entry("2024-01-01", [mibg])
    second = _entry("2024-02-02", [ct])
    third = _entry("2024-03-03", [ct, {"modality": "csf", "result": "positive"}])
    future = _entry("2025-01-01", [{"modality": "eeg", "result": "negative"}])
    case = build_assessment_case([future, second, first], third)
    assert case.visit_date == dt.date(2024, 3, 3)
    got = [(t.modality, t.date.isoformat() if t.date else None) for t in case.tests]
    assert got == [("mibg", "2024-01-01"), ("ct", "2024-02-01"), ("csf", "2024-03-03")]


def test_explicit_history_wins_over_events() -> None:
    current = _entry("2024-03-03", history={"relapse": False})
    case = build_assessment_case([], current, relapse_dates=[dt.date(2024, 1, 1)])
    assert case.history.relapse is False
    late = build_assessment_case([], _entry("2024-03-03"), relapse_dates=[dt.date(2024, 5, 1)])
    assert late.history.relapse is None
