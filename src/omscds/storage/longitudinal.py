"""Building the case a visit is assessed with, from the patient's history.

A visit's snapshot holds what was recorded at that visit. To assess it over the years the
registry builds one case from the history (pure functions, no database):

* ``visit_date`` is the visit's date (the engine's surveillance interval counts from it);
* the tests of every earlier visit are carried forward, in date order, before the visit's own
  tests; a carried test without a date gets the date of the visit that recorded it, and a test
  recorded again at a later visit (same content and date) is kept once;
* ``history.relapse`` (with ``relapse_date``, the latest) when a relapse event starts on or
  before the visit date, and ``history.prior_tumour_resected`` (with ``resection.date``) when a
  tumour resection started before it, unless the snapshot says otherwise explicitly;
* findings, severity and age stay those of the visit itself (the state at that visit).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from omscds.model import Case, parse_case
from omscds.storage.vocabulary import Agent

__all__ = ["HistoryEntry", "build_assessment_case", "canonical_case", "canonical_json"]


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded visit: its date and its validated snapshot."""

    visit_date: dt.date
    case: Case


def canonical_json(data: Any) -> str:
    """Stable JSON text (sorted keys, no spaces) used for storage and hashing."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_case(case: Case) -> dict[str, Any]:
    """The JSON form a case is stored in; ``parse_case`` of it gives the same case back."""
    data: dict[str, Any] = case.model_dump(mode="json", exclude_none=True)
    return data


def _test_key(test: dict[str, Any]) -> str:
    return canonical_json(test)


def build_assessment_case(
    earlier: Sequence[HistoryEntry],
    current: HistoryEntry,
    relapse_dates: Iterable[dt.date] = (),
    treatments: Iterable[tuple[str, dt.date]] = (),
) -> Case:
    """The case to assess ``current`` with, given the visits before it (any order).

    ``treatments`` are (agent id, start date) pairs.
    """
    base = canonical_case(current.case)
    base["visit_date"] = current.visit_date.isoformat()
    carried: list[dict[str, Any]] = []
    seen: set[str] = set()
    ordered = sorted(
        (e for e in earlier if e.visit_date <= current.visit_date), key=lambda e: e.visit_date
    )
    for entry in ordered:
        for test in canonical_case(entry.case).get("tests", []):
            if "date" not in test:
                test = {**test, "date": entry.visit_date.isoformat()}
            key = _test_key(test)
            if key not in seen:
                seen.add(key)
                carried.append(test)
    own = [
        t if "date" in t else {**t, "date": current.visit_date.isoformat()}
        for t in base.get("tests", [])
    ]
    own_keys = {_test_key(t) for t in own}
    earlier_tests = [t for t in carried if _test_key(t) not in own_keys]
    earlier_tests.sort(key=lambda t: str(t["date"]))
    if earlier_tests or own:
        base["tests"] = [*earlier_tests, *own]
    # The registry's events are mapped onto the case, with their dates; what a relapse or a
    # resection means for the tumour search is the reasoning's (the pathway re-opens the
    # search and counts only tests after the event).
    history: dict[str, Any] = dict(base.get("history", {}))
    relapses = [d for d in relapse_dates if d <= current.visit_date]
    if relapses and "relapse" not in history:
        history["relapse"] = True
        history.setdefault("relapse_date", max(relapses).isoformat())
    resections = [
        start
        for agent, start in treatments
        if agent == Agent.tumour_resection.value and start < current.visit_date
    ]
    if resections and "prior_tumour_resected" not in history:
        history["prior_tumour_resected"] = True
        if "resection" not in history:
            history["resection"] = {"date": max(resections).isoformat()}
    if history:
        base["history"] = history
    return parse_case(base)
