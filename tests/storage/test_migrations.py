from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import inspect, text

from omscds.errors import StorageError
from omscds.knowledge import KnowledgeBase
from omscds.storage import current_revision, head_revision, make_engine, migrate, open_registry


def test_two_revisions_exist() -> None:
    assert head_revision() == "0003"


def test_database_from_revision_1_upgrades_with_its_data(db_url: str, kb: KnowledgeBase) -> None:
    engine = make_engine(db_url)
    assert migrate(engine, "0001", kb=kb) == "0001"
    columns = {c["name"] for c in inspect(engine).get_columns("visits")}
    assert "severity_total" not in columns
    scored = {
        "age_months": 20,
        "visit_date": "2023-03-03",
        "severity": {"scale": "mitchell_pike", "items": dict.fromkeys(
            ("stance", "gait", "arm_hand_function", "opsoclonus", "mood_behaviour", "speech"), 2
        )},
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO patients (key, external_ids, created_at) VALUES ('old', '{}', 't')")
        )
        for uid, case in (("v1", scored), ("v2", {"age_months": 21})):
            conn.execute(
                text(
                    "INSERT INTO visits (uid, patient_id, visit_date, case_json, case_sha256, "
                    "created_at) VALUES (:uid, 1, :d, :c, 'h', 't')"
                ),
                {"uid": uid, "d": dt.date(2023, 3, 3), "c": json.dumps(case)},
            )
    engine.dispose()
    with pytest.raises(StorageError, match="revision 0001"):
        open_registry(db_url, kb)
    reg = open_registry(db_url, kb, create=True)
    assert current_revision(reg.engine) == "0003"
    indexes = {i["name"] for i in inspect(reg.engine).get_indexes("visits")}
    assert "ix_visits_patient_date" in indexes
    history = reg.history("old")
    assert [v.uid for v in history.visits] == ["v1", "v2"]
    assert [v.severity_total for v in history.visits] == [12, None]
    # the upgraded database takes new writes
    reg.add_visit("old", {"age_months": 24}, "2024-01-01")
    assert reg.history("old").latest_assessment is not None
    reg.close()


def test_migrating_twice_is_a_no_op(db_url: str, kb: KnowledgeBase) -> None:
    engine = make_engine(db_url)
    assert migrate(engine, kb=kb) == migrate(engine, kb=kb) == "0003"
    engine.dispose()


def test_revision_3_chains_the_existing_audit_rows(db_url: str, kb: KnowledgeBase) -> None:
    from omscds.storage.audit import row_hash

    engine = make_engine(db_url)
    assert migrate(engine, "0002", kb=kb) == "0002"
    insert = text(
        "INSERT INTO audit_log (at, actor, action, entity, entity_uid, patient_key, "
        "payload_sha256, row_sha256) VALUES (:at, 'old', 'create', 'patient', :u, :u, 'p', :h)"
    )
    with engine.begin() as conn:
        for i in range(3):
            good = row_hash(f"t{i}", "old", "create", "patient", f"k{i}", f"k{i}", "p")
            # row 3 was already altered before the upgrade: its stored hash does not match
            conn.execute(insert, {"at": f"t{i}", "u": f"k{i}", "h": good if i < 2 else "f" * 64})
    engine.dispose()
    reg = open_registry(db_url, kb, create=True)
    entries = reg.audit().items
    assert [e.action for e in entries] == ["create"] * 3 + ["migrate"]
    assert all(e.chain_sha256 for e in entries)
    broken = reg.verify_audit().broken
    assert broken is not None and (broken.row_id, broken.reason) == (3, "row changed")
    reg.add_patient("new-1")  # new writes extend the chain
    assert reg.audit().items[-1].chain_sha256
    reg.close()
