"""The append-only, hash-chained audit log: one row per write, in the same transaction as the write.

Each row keeps two hashes:

* ``row_sha256``: sha256 over the row's own fields (time, actor, action, entity, uid, patient
  key, sha256 of the JSON written), unchanged since revision 0001;
* ``chain_sha256``: sha256 over the previous row's ``chain_sha256`` and this row's
  ``row_sha256`` (the first row links to :data:`GENESIS`), since revision 0003.

So changing, removing, reordering or inserting any row breaks the chain from that row on, and
:func:`verify_audit` names the first broken link. Appends are serialised (SQLite: the write lock
taken at ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock) so two writers never
link to the same previous row.

There is deliberately no function here that updates or deletes audit rows, and the database
refuses it too (triggers; on PostgreSQL the application role has only INSERT and SELECT).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from omscds.storage.records import AuditEntry, Page
from omscds.storage.tables import audit_log

__all__ = [
    "GENESIS",
    "AuditBreak",
    "AuditCheck",
    "append_audit",
    "append_audits",
    "chain_hash",
    "default_actor",
    "list_audit",
    "now_iso",
    "row_hash",
    "sha256_text",
    "verify_audit",
]

#: what the first row's chain links to
GENESIS = "0" * 64
#: key of the PostgreSQL advisory lock that serialises audit appends (any constant works)
_PG_LOCK_KEY = 0x6F6D73636473  # "omscds"


def now_iso() -> str:
    """UTC time of a write, ISO 8601 with microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def default_actor() -> str:
    """Who writes when the caller names nobody: the login name (``OMSCDS_ACTOR`` reaches the
    registry through the settings class, as the caller's ``actor``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_hash(
    at: str,
    actor: str,
    action: str,
    entity: str,
    entity_uid: str,
    patient_key: str | None,
    payload_sha256: str,
) -> str:
    """The hash of one audit row's own fields (the formula of revision 0001)."""
    fields = [at, actor, action, entity, entity_uid, patient_key or "", payload_sha256]
    return sha256_text("\x1f".join(fields))


def chain_hash(previous: str, row_sha256: str) -> str:
    """The chain value of a row: it hashes the previous row's chain value.

    >>> chain_hash(GENESIS, "a" * 64)[:12]
    '6b0440c1ce48'
    """
    return sha256_text(previous + row_sha256)


_TAIL = "omscds_audit_tail"
_INSERT = insert(audit_log)


def _tail(conn: Connection) -> str:
    """The chain value to link to. Read once per transaction, under the lock, then kept in
    ``conn.info`` for that transaction's later appends: nobody else can append meanwhile."""
    txn = conn.get_transaction()
    cached = conn.info.get(_TAIL)
    if cached is not None and txn is not None and cached[0] is txn:
        return str(cached[1])
    if conn.dialect.name == "postgresql":
        # held until commit: the next writer reads the tail only after this row is visible
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = conn.execute(
        select(audit_log.c.chain_sha256).order_by(audit_log.c.id.desc()).limit(1)
    ).scalar()
    return GENESIS if last is None else str(last)


def _remember_tail(conn: Connection, chain: str) -> None:
    txn = conn.get_transaction()
    if txn is not None:
        conn.info[_TAIL] = (txn, chain)


def append_audit(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_uid: str,
    patient_key: str | None,
    payload: str,
) -> None:
    """Record one write; ``payload`` is the canonical JSON written (its hash is kept)."""
    append_audits(
        conn, actor=actor, action=action, entity=entity, rows=[(entity_uid, patient_key, payload)]
    )


def append_audits(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    rows: Sequence[tuple[str, str | None, str]],
) -> None:
    """Record several writes of one kind, chained in order: ``rows`` of (entity uid, patient key,
    payload). One statement for all of them (a re-assessed chunk's 200 rows, one by one, were a
    third of its write time; measured)."""
    if not rows:
        return
    chain = _tail(conn)
    params = []
    for entity_uid, patient_key, payload in rows:
        at = now_iso()
        payload_sha = sha256_text(payload)
        row_sha = row_hash(at, actor, action, entity, entity_uid, patient_key, payload_sha)
        chain = chain_hash(chain, row_sha)
        params.append(
            {
                "at": at,
                "actor": actor,
                "action": action,
                "entity": entity,
                "entity_uid": entity_uid,
                "patient_key": patient_key,
                "payload_sha256": payload_sha,
                "row_sha256": row_sha,
                "chain_sha256": chain,
            }
        )
    # one statement object with bound parameters: compiled once and cached (``.values()`` per
    # row recompiled it; measured: a third of a re-assessment's write time)
    conn.execute(_INSERT, params[0] if len(params) == 1 else params)
    _remember_tail(conn, chain)


@dataclass(frozen=True)
class AuditBreak:
    """The first audit row that does not check out, and why."""

    row_id: int
    reason: str


@dataclass(frozen=True)
class AuditCheck:
    """What :func:`verify_audit` found: rows checked, the head of the chain, the first break."""

    rows: int
    head_id: int | None
    head_sha256: str
    broken: AuditBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _rows(conn: Connection, batch: int = 2000) -> Iterator[Any]:
    """Every audit row in id order, in keyset pages (memory stays flat)."""
    after = None
    while True:
        stmt = select(audit_log).order_by(audit_log.c.id).limit(batch)
        if after is not None:
            stmt = stmt.where(audit_log.c.id > after)
        rows = conn.execute(stmt).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def verify_audit(conn: Connection, anchor: tuple[int, str] | None = None) -> AuditCheck:
    """Recompute every row hash and chain link in id order; stop at the first break.

    ``anchor`` is an ``(id, chain_sha256)`` pair recorded earlier (e.g. the head printed by a
    previous ``registry verify``): the chain must still pass through it, which also detects a
    chain rewritten from scratch or cut short by someone who could drop the triggers.
    """
    previous, count, head_id = GENESIS, 0, None
    anchor_seen = anchor is None
    for row in _rows(conn):
        count += 1
        expected_row = row_hash(
            row.at,
            row.actor,
            row.action,
            row.entity,
            row.entity_uid,
            row.patient_key,
            row.payload_sha256,
        )
        if row.row_sha256 != expected_row:
            return AuditCheck(count, head_id, previous, AuditBreak(row.id, "row changed"))
        if row.chain_sha256 != chain_hash(previous, row.row_sha256):
            why = (
                "row not linked (written without the chain)"
                if row.chain_sha256 is None
                else "chain broken: a row before it was removed, inserted or reordered"
            )
            return AuditCheck(count, head_id, previous, AuditBreak(row.id, why))
        previous, head_id = row.chain_sha256, row.id
        if anchor is not None and row.id == anchor[0]:
            if row.chain_sha256 != anchor[1]:
                return AuditCheck(
                    count, head_id, previous, AuditBreak(row.id, "does not match the anchor")
                )
            anchor_seen = True
    if not anchor_seen:
        assert anchor is not None
        bad = AuditBreak(anchor[0], "the anchored row is gone (the log was cut or rewritten)")
        return AuditCheck(count, head_id, previous, bad)
    return AuditCheck(count, head_id, previous, None)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity=row.entity,
        entity_uid=row.entity_uid,
        patient_key=row.patient_key,
        payload_sha256=row.payload_sha256,
        row_sha256=row.row_sha256,
        chain_sha256=row.chain_sha256,
    )


def list_audit(conn: Connection, limit: int = 100, offset: int = 0) -> Page[AuditEntry]:
    total = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    rows = conn.execute(
        select(audit_log).order_by(audit_log.c.id).limit(limit).offset(offset)
    ).all()
    return Page(tuple(_entry(r) for r in rows), int(total), limit, offset)
