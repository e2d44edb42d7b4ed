"""The registry's tables (SQLAlchemy Core). The migrations in ``migrations/versions`` create them.

Rows are identified inside the database by integer keys; every row that leaves the database
(export, API) is named by a stable ``uid`` so that an export re-imports losslessly.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "AUDIT_TABLE",
    "assessments",
    "audit_log",
    "metadata",
    "patients",
    "relapses",
    "treatments",
    "visits",
]

metadata = MetaData()

#: name of the append-only table guarded by triggers (see the initial migration)
AUDIT_TABLE = "audit_log"

patients = Table(
    "patients",
    metadata,
    Column("id", Integer, primary_key=True),
    #: the pseudonymous key the user chooses (no names are stored)
    Column("key", String(128), nullable=False, unique=True),
    #: JSON object of optional external identifiers, e.g. {"hospital": "123"}
    Column("external_ids", Text, nullable=False, default="{}"),
    Column("created_at", String(40), nullable=False),
)

visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("patient_id", Integer, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False),
    Column("visit_date", Date, nullable=False),
    #: the validated case snapshot (canonical JSON, visit_date set)
    Column("case_json", Text, nullable=False),
    Column("case_sha256", String(64), nullable=False),
    #: severity total of the snapshot (revision 0002), for fast timelines
    Column("severity_total", Integer, nullable=True),
    Column("created_at", String(40), nullable=False),
    Index("ix_visits_patient_date", "patient_id", "visit_date"),
)

treatments = Table(
    "treatments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("patient_id", Integer, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False),
    Column("agent", String(40), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("stop_date", Date, nullable=True),
    Column("dose", Text, nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", String(40), nullable=False),
    Index("ix_treatments_patient", "patient_id"),
)

relapses = Table(
    "relapses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("patient_id", Integer, ForeignKey("patients.id", ondelete="RESTRICT"), nullable=False),
    Column("onset_date", Date, nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", String(40), nullable=False),
    Index("ix_relapses_patient", "patient_id"),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("visit_id", Integer, ForeignKey("visits.id", ondelete="RESTRICT"), nullable=False),
    Column("kb_version", String(40), nullable=False),
    Column("kb_sha256", String(64), nullable=False),
    Column("omscds_version", String(40), nullable=False),
    #: the exact case that was assessed (the visit with earlier tests carried forward)
    Column("input_json", Text, nullable=False),
    Column("assessment_json", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Index("ix_assessments_visit", "visit_id"),
)

audit_log = Table(
    AUDIT_TABLE,
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(40), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_uid", String(128), nullable=False),
    Column("patient_key", String(128), nullable=True),
    #: sha256 of the canonical JSON written
    Column("payload_sha256", String(64), nullable=False),
    #: sha256 over (at, actor, action, entity, entity_uid, patient_key, payload_sha256)
    Column("row_sha256", String(64), nullable=False),
    #: sha256 over (previous row's chain_sha256, row_sha256): the hash chain (revision 0003)
    Column("chain_sha256", String(64), nullable=True),
    Index("ix_audit_log_entity", "entity", "entity_uid"),
)
