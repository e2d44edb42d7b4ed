"""The audit log becomes a hash chain, and SQLite refuses REPLACE/UPSERT of audit rows too.

* ``audit_log.chain_sha256``: sha256 over the previous row's chain value and the row's own
  ``row_sha256`` (see ``omscds.storage.audit``). Existing rows are linked in id order from
  their stored ``row_sha256``; a row that was already altered is linked as it is, so
  ``omscds registry verify`` still reports it (this upgrade vouches for nothing).
* SQLite: ``INSERT OR REPLACE`` deletes the old row without firing the delete trigger (unless
  ``recursive_triggers`` is on), and an UPSERT with an explicit id would rewrite it; a BEFORE
  INSERT trigger now refuses any explicit id at or below the newest row.
* An index on ``(entity, entity_uid)``, for ``registry verify`` to match data to its audit rows.
* The upgrade of a database with audit rows is itself recorded (action ``migrate``); audit rows
  before it are "legacy" to ``storage.integrity``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_SQLITE_UPDATE_GUARD = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed'); END"
)
# NEW.id is -1 in a BEFORE INSERT trigger when the insert leaves the id to SQLite
_SQLITE_REPLACE_GUARD = (
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN NEW.id <> -1 AND NEW.id <= (SELECT coalesce(max(id), 0) FROM audit_log) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: REPLACE/UPSERT is not allowed'); END"
)


def upgrade() -> None:
    from omscds.storage.audit import GENESIS, append_audit, chain_hash

    bind = op.get_bind()
    dialect = bind.dialect.name
    op.add_column("audit_log", sa.Column("chain_sha256", sa.String(64), nullable=True))
    # `registry verify` joins visits and assessments to the audit row that wrote them
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_uid"])
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("row_sha256", sa.String),
        sa.column("chain_sha256", sa.String),
    )
    # the owner lifts the guard for this one transaction only
    if dialect == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    previous, linked = GENESIS, 0
    for row_id, row_sha in bind.execute(sa.select(log.c.id, log.c.row_sha256).order_by(log.c.id)):
        previous = chain_hash(previous, row_sha)
        bind.execute(sa.update(log).where(log.c.id == row_id).values(chain_sha256=previous))
        linked += 1
    if dialect == "sqlite":
        op.execute(_SQLITE_UPDATE_GUARD)
        op.execute(_SQLITE_REPLACE_GUARD)
    elif dialect == "postgresql":
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    if not linked:
        return  # a new database: nothing to vouch for
    append_audit(
        bind,
        actor="omscds-migration",
        action="migrate",
        entity="schema",
        entity_uid=revision,
        patient_key=None,
        payload=f'{{"linked_rows":{linked},"revision":"{revision}"}}',
    )


def downgrade() -> None:
    raise NotImplementedError("the audit chain cannot be removed (the audit log stays)")
