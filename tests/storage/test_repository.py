from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from omscds.errors import InputError, StorageError
from omscds.knowledge import KnowledgeBase
from omscds.storage import Registry, open_registry
from omscds.storage.tables import assessments, audit_log, patients, visits

EXAMPLE = Path(__file__).parents[2] / "examples" / "seed1-04-histology.json"


def _counts(reg: Registry) -> dict[str, int]:
    with reg.engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (patients, visits, assessments, audit_log)
        }


def test_visit_round_trip_and_history(registry: Registry, build: Any) -> None:
    registry.add_visit("P-1", build.visit(9), "2024-01-10")
    registry.add_visit("P-1", build.visit(4), dt.date(2024, 4, 2))
    registry.add_treatment("P-1", "ACTH", "2024-01-11", "2024-03-01", dose="per protocol")
    registry.add_relapse("P-1", "2024-06-01", note="ataxia back after a cold")
    h = registry.history("P-1")
    assert [v.visit_date for v in h.visits] == [dt.date(2024, 1, 10), dt.date(2024, 4, 2)]
    assert [v.severity_total for v in h.visits] == [9, 4]
    assert h.visits[0].case["visit_date"] == "2024-01-10"
    assert h.treatments[0].agent == "acth" and h.treatments[0].dose == "per protocol"
    assert h.relapses[0].note == "ataxia back after a cold"
    assert h.latest_assessment is not None
    assert h.latest_assessment.visit_uid == h.visits[-1].uid
    assert h.latest_assessment.assessment["severity"]["total"] == 4


def test_example_case_is_stored_as_given(registry: Registry) -> None:
    data = json.loads(EXAMPLE.read_text())
    rec = registry.add_visit("seed-1", data, "2024-03-21")
    assert rec.case["tests"][3]["histology"] == "ganglioneuroblastoma"
    stored = registry.history("seed-1").latest_assessment
    assert stored is not None and stored.assessment["tumour"]["status"] == "confirmed"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda c: c["tests"].__setitem__(0, {**c["tests"][0], "result": "postive"}), "result"),
        (lambda c: c.__setitem__("age_months", -3), "age_months"),
        (lambda c: c["findings"].__setitem__("dancing_feet", "present"), "dancing_feet"),
        (lambda c: c.__setitem__("colour", "blue"), "colour"),
    ],
)
def test_invalid_visit_is_rejected_naming_the_field_and_nothing_is_written(
    registry: Registry, build: Any, mutate: Any, path: str
) -> None:
    registry.add_visit("P-2", build.visit(3), "2024-01-01")
    before = _counts(registry)
    bad = build.visit(3, build.negative_search("2024-01-01"))
    mutate(bad)
    with pytest.raises(InputError) as err:
        registry.add_visits([("P-2", build.visit(2), "2024-02-01"), ("P-3", bad, "2024-02-01")])
    assert path in str(err.value) and "visits[1]" in str(err.value)
    assert _counts(registry) == before
    assert not registry.has_patient("P-3")


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda r, b: r.add_visit("P", b.visit(1)), "date"),
        (lambda r, b: r.add_visit("P", b.visit(1), "2024-13-01"), "date"),
        (lambda r, b: r.add_visit("Jane Doe", b.visit(1), "2024-01-01"), "patient"),
        (lambda r, b: r.add_treatment("P", "aspirin", "2024-01-01"), "agent"),
        (lambda r, b: r.add_treatment("P", "ivig", "2024-02-01", "2024-01-01"), "stop"),
        (lambda r, b: r.add_relapse("P", "yesterday"), "date"),
        (lambda r, b: r.history("nobody"), "patient"),
        (lambda r, b: r.list_patients(limit=0), "limit"),
    ],
)
def test_bad_input_is_an_input_error(registry: Registry, build: Any, call: Any, path: str) -> None:
    before = _counts(registry)
    with pytest.raises(InputError) as err:
        call(registry, build)
    assert err.value.path == path
    assert _counts(registry) == before


def test_patient_listing_is_paginated(registry: Registry, build: Any) -> None:
    registry.add_visits([(f"K{i:02d}", build.visit(i % 7), "2024-05-05") for i in range(7)])
    registry.add_patient("K99", {"hospital": "A-17"})
    first = registry.list_patients(limit=3)
    rest = registry.list_patients(limit=10, offset=3)
    assert first.total == rest.total == 8
    keys = [p.key for p in (*first.items, *rest.items)]
    assert keys == sorted(keys) and len(set(keys)) == 8
    assert first.items[0].visit_count == 1
    assert rest.items[-1].external_ids == {"hospital": "A-17"}
    assert rest.items[-1].visit_count == 0


def test_timeline_data(registry: Registry, build: Any) -> None:
    registry.add_visit("T", build.visit(12), "2023-01-01")
    registry.add_visit("T", build.visit(), "2023-02-01")
    registry.add_visit("T", build.visit(5), "2023-06-01")
    registry.add_treatment("T", "rituximab", "2023-03-01")
    registry.add_relapse("T", "2023-09-09")
    t = registry.timeline("T")
    assert [p[1] for p in t.points] == [12, None, 5]
    assert t.treatments == (("rituximab", dt.date(2023, 3, 1), None),)
    assert t.relapses == (dt.date(2023, 9, 9),)


def test_unopened_database_is_refused(tmp_path: Path, kb: KnowledgeBase) -> None:
    with pytest.raises(StorageError, match="registry init"):
        open_registry(str(tmp_path / "new.sqlite3"), kb)


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///:memory:", "not a url://"])
def test_bad_database_urls(url: str, kb: KnowledgeBase) -> None:
    with pytest.raises(StorageError):
        open_registry(url, kb, create=True)


@pytest.mark.parametrize(
    ("limit", "offset", "path"),
    [(10, 10**30, "offset"), (10, -1, "offset"), (10**30, 0, "limit"), (True, 0, "limit")],
)
def test_huge_or_odd_pages_are_input_errors(
    registry: Registry, limit: Any, offset: Any, path: str
) -> None:
    from omscds.errors import InputError

    for call in (registry.list_patients, registry.audit):
        with pytest.raises(InputError) as err:
            call(limit, offset)
        assert err.value.path == path


def test_a_busy_sqlite_registry_says_so_within_its_timeout(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    import sqlite3
    import time

    from omscds.errors import StorageError

    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    open_registry(url, kb, create=True).close()
    holder = sqlite3.connect(tmp_path / "busy.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    reg = open_registry(url, kb, busy_timeout_s=0.3)  # opening only reads: no wait
    t = time.monotonic()
    assert reg.list_patients().total == 0 and reg.audit().total == 0  # reads do not wait
    assert time.monotonic() - t < 0.25
    t = time.monotonic()
    with pytest.raises(StorageError, match="busy") as err:
        reg.add_patient("B-1")
    assert time.monotonic() - t < 5
    assert "0.3 s" in str(err.value)
    holder.rollback()
    holder.close()
    reg.add_patient("B-1")  # works once the lock is free
    reg.close()
