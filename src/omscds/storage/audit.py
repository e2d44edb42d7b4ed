"""The append-only audit log: one row per write, in the same transaction as the write.

There is deliberately no function here that updates or deletes audit rows, and the database
refuses it too (triggers created by the initial migration).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from omscds.storage.records import AuditEntry, Page
from omscds.storage.tables import audit_log

__all__ = ["append_audit", "default_actor", "list_audit", "now_iso", "sha256_text"]


def now_iso() -> str:
    """UTC time of a write, ISO 8601 with microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def default_actor() -> str:
    """Who writes: ``$OMSCDS_ACTOR`` if set, else the login name."""
    actor = os.environ.get("OMSCDS_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    at = now_iso()
    payload_sha = sha256_text(payload)
    row_sha = sha256_text(
        "\x1f".join([at, actor, action, entity, entity_uid, patient_key or "", payload_sha])
    )
    conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_uid=entity_uid,
            patient_key=patient_key,
            payload_sha256=payload_sha,
            row_sha256=row_sha,
        )
    )


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
    )


def list_audit(conn: Connection, limit: int = 100, offset: int = 0) -> Page[AuditEntry]:
    total = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    rows = conn.execute(
        select(audit_log).order_by(audit_log.c.id).limit(limit).offset(offset)
    ).all()
    return Page(tuple(_entry(r) for r in rows), int(total), limit, offset)
