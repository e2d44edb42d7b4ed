"""Visits get a severity_total column (backfilled) and a (patient, date) index for timelines.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _knowledge() -> Any:
    kb = context.config.attributes.get("kb")
    if kb is None:
        from omscds.knowledge import load_knowledge

        kb = load_knowledge()
    return kb


def upgrade() -> None:
    from omscds.model import parse_case
    from omscds.reasoning.severity import score_severity

    op.add_column("visits", sa.Column("severity_total", sa.Integer, nullable=True))
    op.create_index("ix_visits_patient_date", "visits", ["patient_id", "visit_date"])

    # backfill: the total the knowledge base computes from each stored snapshot
    bind = op.get_bind()
    visits = sa.table(
        "visits",
        sa.column("id", sa.Integer),
        sa.column("case_json", sa.Text),
        sa.column("severity_total", sa.Integer),
    )
    kb = _knowledge()
    rows = bind.execute(sa.select(visits.c.id, visits.c.case_json)).all()
    for row_id, case_json in rows:
        case = parse_case(json.loads(case_json))
        if case.severity is None or case.severity.scale not in kb.severity_scales:
            continue
        result = score_severity(case, kb)
        if result is not None and result.total is not None:
            bind.execute(
                sa.update(visits).where(visits.c.id == row_id).values(severity_total=result.total)
            )


def downgrade() -> None:
    op.drop_index("ix_visits_patient_date", table_name="visits")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("severity_total")
