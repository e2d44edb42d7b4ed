from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from omscds.storage import Registry
from omscds.storage.audit import sha256_text
from omscds.storage.longitudinal import canonical_json


def test_every_write_is_audited_with_hashes(registry: Registry, build: Any) -> None:
    rec = registry.add_visit("A-1", build.visit(5), "2024-01-01")
    registry.add_treatment("A-1", "ivig", "2024-01-02")
    registry.add_relapse("A-1", "2024-05-01")
    entries = registry.audit().items
    assert [(e.action, e.entity) for e in entries] == [
        ("create", "patient"),
        ("create", "visit"),
        ("create", "assessment"),
        ("create", "treatment"),
        ("create", "relapse"),
    ]
    assert {e.actor for e in entries} == {"tester"}
    assert all(e.patient_key == "A-1" and len(e.row_sha256) == 64 for e in entries)
    assert entries[1].entity_uid == rec.uid
    assert entries[1].payload_sha256 == sha256_text(canonical_json(rec.case)) == rec.case_sha256


def test_repository_offers_no_way_to_change_the_audit_log(registry: Registry) -> None:
    names = [n for n in dir(registry) if "audit" in n]
    assert names == ["audit", "verify_audit"]


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"])
def test_database_rejects_audit_updates_and_deletes(
    registry: Registry, build: Any, sql: str
) -> None:
    registry.add_visit("A-2", build.visit(1), "2024-01-01")
    before = registry.audit().items
    with pytest.raises(DBAPIError, match="append-only"), registry.engine.begin() as conn:
        conn.execute(text(sql))
    assert registry.audit().items == before


def test_a_batch_of_audit_rows_chains_like_single_appends(registry: Registry, build: Any) -> None:
    from omscds.storage.audit import append_audits

    registry.add_visit("A-2", build.visit(5), "2024-01-01")
    with registry.transaction() as conn:
        append_audits(
            conn,
            actor="tester",
            action="reassess",
            entity="assessment",
            rows=[(f"u{i}", "A-2", f'{{"n":{i}}}') for i in range(5)],
        )
    entries = registry.audit(limit=100).items
    assert [e.entity_uid for e in entries[-5:]] == [f"u{i}" for i in range(5)]
    assert entries[-1].payload_sha256 == sha256_text('{"n":4}')
    assert registry.verify_audit().ok
