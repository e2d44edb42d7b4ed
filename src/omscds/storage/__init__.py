"""The longitudinal registry: patients, visits, treatments, relapses and stored assessments in
SQLite (default) or PostgreSQL, with Alembic migrations and an append-only, hash-chained
audit log."""

from __future__ import annotations

from omscds.storage.audit import AuditBreak, AuditCheck, verify_audit
from omscds.storage.database import (
    ENV_VAR,
    current_revision,
    default_url,
    grant_app_role,
    head_revision,
    make_engine,
    migrate,
    resolve_url,
)
from omscds.storage.longitudinal import HistoryEntry, build_assessment_case
from omscds.storage.privacy import check_patient_key
from omscds.storage.reassess import ReassessItem, ReassessRun, advice_changes, reassess
from omscds.storage.records import (
    AuditEntry,
    Page,
    PatientHistory,
    PatientSummary,
    RelapseRecord,
    StoredAssessment,
    TimelineData,
    TreatmentRecord,
    VisitRecord,
)
from omscds.storage.repository import Registry, open_registry, parse_date
from omscds.storage.vocabulary import AGENTS, Agent, parse_agent

__all__ = [
    "AGENTS",
    "ENV_VAR",
    "Agent",
    "AuditBreak",
    "AuditCheck",
    "AuditEntry",
    "HistoryEntry",
    "Page",
    "PatientHistory",
    "PatientSummary",
    "ReassessItem",
    "ReassessRun",
    "Registry",
    "RelapseRecord",
    "StoredAssessment",
    "TimelineData",
    "TreatmentRecord",
    "VisitRecord",
    "advice_changes",
    "build_assessment_case",
    "check_patient_key",
    "current_revision",
    "default_url",
    "grant_app_role",
    "head_revision",
    "make_engine",
    "migrate",
    "open_registry",
    "parse_agent",
    "parse_date",
    "reassess",
    "resolve_url",
    "verify_audit",
]
