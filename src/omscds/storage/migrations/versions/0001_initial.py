"""Initial registry schema: patients, visits, treatments, relapses, assessments, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_PG_GUARD = """
CREATE OR REPLACE FUNCTION omscds_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete="RESTRICT")


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(128), nullable=False, unique=True),
        sa.Column("external_ids", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("patient_id", sa.Integer, _fk("patients"), nullable=False),
        sa.Column("visit_date", sa.Date, nullable=False),
        sa.Column("case_json", sa.Text, nullable=False),
        sa.Column("case_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "treatments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("patient_id", sa.Integer, _fk("patients"), nullable=False),
        sa.Column("agent", sa.String(40), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("stop_date", sa.Date, nullable=True),
        sa.Column("dose", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_treatments_patient", "treatments", ["patient_id"])
    op.create_table(
        "relapses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("patient_id", sa.Integer, _fk("patients"), nullable=False),
        sa.Column("onset_date", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_relapses_patient", "relapses", ["patient_id"])
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("visit_id", sa.Integer, _fk("visits"), nullable=False),
        sa.Column("kb_version", sa.String(40), nullable=False),
        sa.Column("kb_sha256", sa.String(64), nullable=False),
        sa.Column("omscds_version", sa.String(40), nullable=False),
        sa.Column("input_json", sa.Text, nullable=False),
        sa.Column("assessment_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_assessments_visit", "assessments", ["visit_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("entity_uid", sa.String(128), nullable=False),
        sa.Column("patient_key", sa.String(128), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("row_sha256", sa.String(64), nullable=False),
    )
    # the audit log is append-only: the database itself refuses UPDATE and DELETE
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {event} is not allowed'); "
                "END"
            )
    elif dialect == "postgresql":
        op.execute(_PG_GUARD)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION omscds_audit_append_only()"
        )


def downgrade() -> None:
    raise NotImplementedError("the initial schema cannot be downgraded (the audit log stays)")
