"""Plain, frozen records the registry returns (no SQLAlchemy objects leave the storage layer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "AuditEntry",
    "Page",
    "PatientHistory",
    "PatientSummary",
    "RelapseRecord",
    "StoredAssessment",
    "TimelineData",
    "TreatmentRecord",
    "VisitRecord",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: ``items`` plus the ``total`` count and the window asked for."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class PatientSummary:
    key: str
    external_ids: dict[str, str]
    created_at: str
    visit_count: int = 0
    last_visit: dt.date | None = None


@dataclass(frozen=True)
class VisitRecord:
    uid: str
    patient_key: str
    visit_date: dt.date
    case: dict[str, Any]
    case_sha256: str
    severity_total: int | None
    created_at: str


@dataclass(frozen=True)
class TreatmentRecord:
    uid: str
    patient_key: str
    agent: str
    start_date: dt.date
    stop_date: dt.date | None
    dose: str | None
    note: str | None
    created_at: str


@dataclass(frozen=True)
class RelapseRecord:
    uid: str
    patient_key: str
    onset_date: dt.date
    note: str | None
    created_at: str


@dataclass(frozen=True)
class StoredAssessment:
    """An assessment as stored: the exact input case, the output, and what produced it."""

    uid: str
    visit_uid: str
    kb_version: str
    kb_sha256: str
    omscds_version: str
    input_case: dict[str, Any]
    assessment: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class PatientHistory:
    """What ``registry show`` prints: every visit, course and relapse, and the latest assessment."""

    patient: PatientSummary
    visits: tuple[VisitRecord, ...]
    treatments: tuple[TreatmentRecord, ...]
    relapses: tuple[RelapseRecord, ...]
    latest_assessment: StoredAssessment | None = None


@dataclass(frozen=True)
class TimelineData:
    """Severity totals over time, treatment courses and relapse onsets of one patient."""

    patient_key: str
    points: tuple[tuple[dt.date, int | None], ...]
    treatments: tuple[tuple[str, dt.date, dt.date | None], ...]
    relapses: tuple[dt.date, ...]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    entity: str
    entity_uid: str
    patient_key: str | None
    payload_sha256: str
    row_sha256: str
    #: links this row to the previous one (None on rows written before revision 0003)
    chain_sha256: str | None = None
