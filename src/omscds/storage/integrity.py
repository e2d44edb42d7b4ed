"""What ``omscds registry verify`` checks beyond the audit chain: the stored data against it.

The chain (``audit.verify_audit``) proves the log was not rewritten. This module proves the data
tables say what the log recorded: every visit snapshot still hashes to its ``case_sha256`` and
to the payload hash of the audit row that wrote it, and every stored assessment still hashes to
its audit row's payload. So a snapshot or an assessment edited in the database directly (by
whoever can write the SQLite file, or the PostgreSQL owner) is found, as is a row written
without an audit row.

Audit rows written by an import before revision 0003 hashed the whole import record rather
than the snapshot; visits imported then are checked against their own ``case_sha256`` only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.engine import Connection

from omscds.storage.audit import sha256_text
from omscds.storage.tables import assessments, audit_log, visits

__all__ = ["RecordBreak", "RecordCheck", "verify_records"]


@dataclass(frozen=True)
class RecordBreak:
    """The first stored row that does not match what was audited."""

    entity: str
    uid: str
    reason: str


@dataclass(frozen=True)
class RecordCheck:
    visits: int
    assessments: int
    broken: RecordBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _legacy_upto(conn: Connection) -> int:
    """Id of the audit row recording the upgrade to 0003 (0 on a database created at 0003+)."""
    found = conn.execute(
        select(func.max(audit_log.c.id)).where(
            audit_log.c.action == "migrate",
            audit_log.c.entity == "schema",
            audit_log.c.entity_uid == "0003",
        )
    ).scalar()
    return int(found or 0)


def _paged(conn: Connection, stmt: Select[Any], key: Any, batch: int = 2000) -> Iterator[Any]:
    """Rows of ``stmt`` in pages of ``key > last`` (plain queries: a server-side cursor made
    PostgreSQL pick a plan 100 times slower for this join)."""
    after = None
    while True:
        page = stmt.order_by(key).limit(batch)
        if after is not None:
            page = page.where(key > after)
        rows = conn.execute(page).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].row_id


def verify_records(conn: Connection) -> RecordCheck:
    """Check every visit and stored assessment against its audit row; stop at the first break."""
    legacy = _legacy_upto(conn)
    v_audit = audit_log.alias("va")
    rows = _paged(
        conn,
        select(
            visits.c.id.label("row_id"),
            visits.c.uid,
            visits.c.case_json,
            visits.c.case_sha256,
            v_audit.c.id.label("audit_id"),
            v_audit.c.action,
            v_audit.c.payload_sha256,
        ).select_from(
            visits.outerjoin(
                v_audit, and_(v_audit.c.entity == "visit", v_audit.c.entity_uid == visits.c.uid)
            )
        ),
        visits.c.id,
    )
    n_visits = 0
    for row in rows:
        n_visits += 1
        digest = sha256_text(row.case_json)
        if digest != row.case_sha256:
            return RecordCheck(n_visits, 0, RecordBreak("visit", row.uid, "snapshot changed"))
        if row.audit_id is None:
            why = "no audit row (written outside omscds)"
            return RecordCheck(n_visits, 0, RecordBreak("visit", row.uid, why))
        checked = row.action == "create" or (row.action == "import" and row.audit_id > legacy)
        if checked and row.payload_sha256 != digest:
            why = "snapshot differs from what was audited"
            return RecordCheck(n_visits, 0, RecordBreak("visit", row.uid, why))
    a_audit = audit_log.alias("aa")
    rows = _paged(
        conn,
        select(
            assessments.c.id.label("row_id"),
            assessments.c.uid,
            assessments.c.assessment_json,
            a_audit.c.id.label("audit_id"),
            a_audit.c.payload_sha256,
        ).select_from(
            assessments.outerjoin(
                a_audit,
                and_(a_audit.c.entity == "assessment", a_audit.c.entity_uid == assessments.c.uid),
            )
        ),
        assessments.c.id,
    )
    n_assessments = 0
    for row in rows:
        n_assessments += 1
        if row.audit_id is None:
            why = "no audit row (written outside omscds)"
            return RecordCheck(n_visits, n_assessments, RecordBreak("assessment", row.uid, why))
        if sha256_text(row.assessment_json) != row.payload_sha256:
            why = "assessment differs from what was audited"
            return RecordCheck(n_visits, n_assessments, RecordBreak("assessment", row.uid, why))
    return RecordCheck(n_visits, n_assessments, None)
