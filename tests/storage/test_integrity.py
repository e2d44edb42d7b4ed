"""Registry integrity: the hash-chained audit log, what the database refuses, `registry verify`,
and imports that recompute what they are given (issue 12, failures 1 and 5)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from omscds.interfaces.cli.main import main
from omscds.knowledge import KnowledgeBase
from omscds.storage import Registry, open_registry
from omscds.storage.audit import GENESIS, chain_hash, row_hash
from omscds.storage.exchange import import_records, read_jsonl, write_jsonl


def _fill(reg: Registry, build: Any) -> None:
    reg.add_visit("I-1", build.visit(9), "2024-01-03")
    reg.add_treatment("I-1", "ivig", "2024-01-04")
    reg.add_visit("I-1", build.visit(4), "2024-03-03")
    reg.add_relapse("I-1", "2024-06-01")


def _sqlite_file(reg: Registry) -> str:
    database = reg.engine.url.database
    assert database
    return database


def _raw(reg: Registry) -> sqlite3.Connection:
    """The file's owner: a plain sqlite3 connection that can drop the triggers."""
    return sqlite3.connect(_sqlite_file(reg), isolation_level=None)


def test_every_row_links_to_the_previous(registry: Registry, build: Any) -> None:
    _fill(registry, build)
    entries = registry.audit().items
    previous = GENESIS
    for e in entries:
        assert e.chain_sha256 == chain_hash(previous, e.row_sha256)
        previous = e.chain_sha256
    check = registry.verify_audit()
    assert check.ok and check.rows == len(entries) == 7
    assert (check.head_id, check.head_sha256) == (entries[-1].id, entries[-1].chain_sha256)
    assert registry.verify_audit((entries[2].id, str(entries[2].chain_sha256))).ok


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT OR REPLACE INTO audit_log (id, at, actor, action, entity, entity_uid, "
        "payload_sha256, row_sha256) VALUES (1, 't', 'mallory', 'create', 'x', 'x', 'h', 'h')",
        "REPLACE INTO audit_log (id, at, actor, action, entity, entity_uid, payload_sha256, "
        "row_sha256) VALUES (2, 't', 'mallory', 'create', 'x', 'x', 'h', 'h')",
        "INSERT INTO audit_log (id, at, actor, action, entity, entity_uid, payload_sha256, "
        "row_sha256) VALUES (1, 't', 'm', 'c', 'x', 'x', 'h', 'h') "
        "ON CONFLICT(id) DO UPDATE SET actor = 'mallory'",
        "UPDATE OR REPLACE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log WHERE id = 1",
    ],
)
def test_sqlite_refuses_replace_and_upsert_of_audit_rows(
    tmp_path: Path, kb: KnowledgeBase, build: Any, sql: str
) -> None:
    reg = open_registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", kb, actor="t", create=True)
    _fill(reg, build)
    before = reg.audit().items
    with pytest.raises(DBAPIError, match="append-only"), reg.engine.begin() as conn:
        conn.execute(text(sql))
    raw = _raw(reg)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute(sql)  # also without SQLAlchemy (no recursive_triggers pragma)
    raw.close()
    assert reg.audit().items == before and reg.verify_audit().ok
    reg.close()


def _tamper(reg: Registry, *statements: str) -> None:
    """What whoever can write the SQLite file can do: drop the triggers, then edit."""
    raw = _raw(reg)
    for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace"):
        raw.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for sql in statements:
        raw.execute(sql)
    raw.close()


@pytest.mark.parametrize(
    ("statements", "row", "reason"),
    [
        (["UPDATE audit_log SET actor = 'mallory' WHERE id = 3"], 3, "row changed"),
        (["DELETE FROM audit_log WHERE id = 3"], 4, "chain broken"),
        (["UPDATE audit_log SET id = 100 WHERE id = 2"], 3, "chain broken"),
        # a forged row with a correct row hash but no chain value
        (["INSERT INTO audit_log (at, actor, action, entity, entity_uid, payload_sha256, "
          "row_sha256) SELECT at, 'mallory', action, entity, entity_uid, payload_sha256, "
          "row_sha256 FROM audit_log WHERE id = 1"], 8, "row changed"),
    ],
)  # fmt: skip
def test_verify_names_the_first_broken_link(
    tmp_path: Path, kb: KnowledgeBase, build: Any, statements: list[str], row: int, reason: str
) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    reg = open_registry(url, kb, actor="t", create=True)
    _fill(reg, build)
    _tamper(reg, *statements)
    check = reg.verify_audit()
    assert check.broken is not None
    assert (check.broken.row_id, check.broken.reason.split(":")[0]) == (row, reason)
    reg.close()


def test_a_rewritten_chain_is_caught_by_an_anchor(
    tmp_path: Path, kb: KnowledgeBase, build: Any
) -> None:
    reg = open_registry(f"sqlite:///{tmp_path / 'r.sqlite3'}", kb, actor="t", create=True)
    _fill(reg, build)
    head = reg.verify_audit()
    anchor = (head.head_id or 0, head.head_sha256)
    # the file's owner rewrites a row and recomputes every hash after it: the chain is valid
    _tamper(reg, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    raw = _raw(reg)
    previous = GENESIS
    for row in raw.execute("SELECT * FROM audit_log ORDER BY id").fetchall():
        rid, at, actor, action, entity, uid, key, payload, _row, _chain = row
        row_sha = row_hash(at, actor, action, entity, uid, key, payload)
        previous = chain_hash(previous, row_sha)
        raw.execute(
            "UPDATE audit_log SET row_sha256 = ?, chain_sha256 = ? WHERE id = ?",
            (row_sha, previous, rid),
        )
    raw.close()
    assert reg.verify_audit().ok  # what no keyless chain can detect on its own
    broken = reg.verify_audit(anchor).broken
    assert broken is not None and "anchor" in broken.reason
    _tamper(reg, f"DELETE FROM audit_log WHERE id >= {anchor[0]}")  # cut the tail
    broken = reg.verify_audit(anchor).broken
    assert broken is not None and "gone" in broken.reason
    reg.close()


def test_cli_verify_exit_codes(
    tmp_path: Path, kb: KnowledgeBase, build: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    reg = open_registry(url, kb, actor="t", create=True)
    _fill(reg, build)
    assert main(["registry", "verify", "-d", url]) == 0
    out = capsys.readouterr().out
    assert "audit log ok: 7 row(s)" in out
    head = out.split("head ")[1].split()[0].replace("\n", "")
    assert main(["registry", "verify", "-d", url, "--anchor", head]) == 0
    assert main(["registry", "verify", "-d", url, "--anchor", "7:nothex"]) == 2
    _tamper(reg, "UPDATE audit_log SET payload_sha256 = 'x' WHERE id = 5")
    capsys.readouterr()
    assert main(["registry", "verify", "-d", url]) == 1
    assert "audit log broken at row 5: row changed" in capsys.readouterr().err.replace("\n", " ")
    reg.close()


# -- PostgreSQL: the owner migrates, the application role reads and appends -----------------
def _roles(pg_server: Any, tag: str) -> tuple[str, str]:
    import psycopg

    owner, app = f"own_{tag}", f"app_{tag}"
    with psycopg.connect(
        host="127.0.0.1", port=pg_server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN")
        conn.execute(f"CREATE ROLE {app} LOGIN")
        conn.execute(f"CREATE DATABASE db_{tag} OWNER {owner}")
    base = f"postgresql+psycopg://{{}}@127.0.0.1:{pg_server.port}/db_{tag}"
    return base.format(owner), base.format(app)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DROP TRIGGER audit_log_append_only ON audit_log",
        "INSERT INTO audit_log (id, at, actor, action, entity, entity_uid, payload_sha256, "
        "row_sha256) VALUES (1, 't', 'm', 'c', 'x', 'x', 'h', 'h') "
        "ON CONFLICT (id) DO UPDATE SET actor = 'mallory'",
        "UPDATE visits SET case_json = '{}'",
        "DELETE FROM assessments",
    ],
)
def test_postgres_application_role_can_only_read_and_append(
    pg_server: Any, kb: KnowledgeBase, build: Any, sql: str
) -> None:
    import uuid

    owner_url, app_url = _roles(pg_server, uuid.uuid4().hex[:8])
    assert main(["registry", "init", "-d", owner_url, "--app-role", app_url.split("//")[1].split("@")[0]]) == 0  # fmt: skip
    app = open_registry(app_url, kb, actor="service", create=True)  # at head: a no-op
    _fill(app, build)
    assert app.verify_audit().ok
    with (
        pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
        app.engine.begin() as conn,
    ):
        conn.execute(text(sql))
    assert app.verify_audit().ok and app.audit().total == 7
    app.close()


def test_verify_warns_when_the_role_could_rewrite_the_log(
    pg_server: Any, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    import uuid

    from omscds.storage.database import audit_guard_warning, make_engine

    owner_url, app_url = _roles(pg_server, uuid.uuid4().hex[:8])
    app_role = app_url.split("//")[1].split("@")[0]
    assert main(["registry", "init", "-d", owner_url, "--app-role", app_role]) == 0
    capsys.readouterr()
    assert main(["registry", "verify", "-d", owner_url]) == 0
    assert "owns audit_log" in capsys.readouterr().err.replace("\n", " ")
    engine = make_engine(app_url)
    assert audit_guard_warning(engine) is None
    engine.dispose()


def test_postgres_refuses_to_grant_to_the_owner(pg_server: Any, kb: KnowledgeBase) -> None:
    import uuid

    from omscds.errors import StorageError
    from omscds.storage import grant_app_role

    owner_url, _ = _roles(pg_server, uuid.uuid4().hex[:8])
    reg = open_registry(owner_url, kb, create=True)
    owner = str(reg.engine.url.username)
    with pytest.raises(StorageError, match="owns table"):
        grant_app_role(reg.engine, owner)
    with pytest.raises(StorageError, match="superuser"):
        grant_app_role(reg.engine, "postgres")
    with pytest.raises(StorageError, match="no database role"):
        grant_app_role(reg.engine, "nobody_here")
    reg.close()


# -- import: derived values are recomputed, never trusted ---------------------------------
def _export(reg: Registry) -> list[dict[str, Any]]:
    out = io.StringIO()
    write_jsonl(reg, out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_forged_assessment_in_an_import_is_recomputed(
    registry: Registry, other_registry: Registry, build: Any
) -> None:
    _fill(registry, build)
    honest = registry.history("I-1").latest_assessment
    assert honest is not None
    records = _export(registry)
    for r in records:
        if r["type"] == "assessment":
            r["assessment"]["tumour"]["probability"] = 0.001
            r["assessment"]["recommendations"] = []
            r["input"]["findings"] = {}
        if r["type"] == "visit":
            r["severity_total"] = 0
    lines = [json.dumps(r) for r in records]
    summary = import_records(other_registry, read_jsonl(lines))
    assert summary.added["assessment"] == 2 and len(summary.recomputed) == 2
    latest = other_registry.history("I-1").latest_assessment
    assert latest is not None and latest.uid == honest.uid
    assert latest.assessment == honest.assessment and latest.input_case == honest.input_case
    assert latest.assessment["recommendations"]
    assert [v.severity_total for v in other_registry.history("I-1").visits] == [9, 4]
    assert other_registry.verify_audit().ok


def test_assessment_for_an_unknown_visit_is_refused(registry: Registry) -> None:
    from omscds.errors import InputError

    line = json.dumps({"type": "assessment", "uid": "a1", "visit": "nope", "created_at": "t"})
    with pytest.raises(InputError, match="visit 'nope'") as err:
        import_records(registry, read_jsonl([line]))
    assert str(err.value).startswith("line 1: visit")
    assert registry.audit().total == 0


# -- data against the audit log ------------------------------------------------------------
def test_records_match_their_audit_rows(
    registry: Registry, other_registry: Registry, build: Any
) -> None:
    _fill(registry, build)
    check = registry.verify_records()
    assert check.ok and (check.visits, check.assessments) == (2, 2)
    lines = [json.dumps(r) for r in _export(registry)]
    import_records(other_registry, read_jsonl(lines))  # imported rows are checkable too
    assert other_registry.verify_records().ok


@pytest.mark.parametrize(
    ("sql", "entity", "reason"),
    [
        ("UPDATE visits SET case_json = '{\"age_months\":22}' WHERE id = 2", "visit", "snapshot changed"),
        ("UPDATE visits SET case_json = '{}', case_sha256 = "
         "'44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' WHERE id = 1",
         "visit", "snapshot differs from what was audited"),
        ("UPDATE assessments SET assessment_json = '{}' WHERE id = 2", "assessment", "assessment differs"),
        ("INSERT INTO assessments (uid, visit_id, kb_version, kb_sha256, omscds_version, input_json, "
         "assessment_json, created_at) VALUES ('forged', 2, 'k', 'k', 'o', '{}', '{}', 't')",
         "assessment", "no audit row"),
    ],
)  # fmt: skip
def test_data_edited_behind_the_registry_is_found(
    tmp_path: Path, kb: KnowledgeBase, build: Any, sql: str, entity: str, reason: str
) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    reg = open_registry(url, kb, actor="t", create=True)
    _fill(reg, build)
    _tamper(reg, sql)
    assert reg.verify_audit().ok  # the log itself is intact
    broken = reg.verify_records().broken
    assert broken is not None and broken.entity == entity and broken.reason.startswith(reason)
    assert main(["registry", "verify", "-d", url]) == 1
    reg.close()


def test_an_assessment_that_cannot_be_recomputed_names_its_line(registry: Registry) -> None:
    from omscds.errors import InputError

    lines = [
        '{"type": "patient", "key": "U-1", "external_ids": {}, "created_at": "t"}',
        '{"type": "visit", "uid": "v1", "patient": "U-1", "date": "2024-01-01", "created_at": "t",'
        ' "case": {"age_months": 20, "findings": {"no_such_finding": "present"}}}',
        '{"type": "assessment", "uid": "a1", "visit": "v1", "created_at": "t"}',
    ]
    with pytest.raises(InputError, match="cannot recompute") as err:
        import_records(registry, read_jsonl(lines))
    assert str(err.value).startswith("line 3: visit")
    assert registry.list_patients().total == 0
