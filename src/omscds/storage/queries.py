"""Read queries of the registry (and the one insert shared with import). Each patient query is
a handful of indexed selects, so ``show`` and timelines stay fast at any registry size."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Row

from omscds.errors import InputError, NotFoundError
from omscds.storage.longitudinal import canonical_json
from omscds.storage.records import (
    Page,
    PatientHistory,
    PatientSummary,
    RelapseRecord,
    StoredAssessment,
    TimelineData,
    TreatmentRecord,
    VisitRecord,
)
from omscds.storage.tables import assessments, patients, relapses, treatments, visits

__all__ = [
    "insert_assessment",
    "list_patients",
    "patient_history",
    "patient_row",
    "patient_rows",
    "stored_assessment",
    "timeline",
    "visit_page",
    "visit_patient_key",
    "visit_row",
]


def patient_row(conn: Connection, key: str) -> Row[Any] | None:
    return conn.execute(select(patients).where(patients.c.key == key)).first()


def _require_patient(conn: Connection, key: str) -> Row[Any]:
    row = patient_row(conn, key)
    if row is None:
        raise NotFoundError(f"no patient with key {key!r} in the registry", path="patient")
    return row


def _summary(row: Row[Any], count: int = 0, last: Any = None) -> PatientSummary:
    return PatientSummary(
        key=row.key,
        external_ids=json.loads(row.external_ids),
        created_at=row.created_at,
        visit_count=int(count),
        last_visit=last,
    )


def visit_row(conn: Connection, uid: str) -> Row[Any]:
    row = conn.execute(select(visits).where(visits.c.uid == uid)).first()
    if row is None:
        raise InputError(f"no visit {uid!r} in the registry", path="visit")
    return row


def visit_patient_key(conn: Connection, visit_uid: str) -> str:
    stmt = (
        select(patients.c.key)
        .join(visits, visits.c.patient_id == patients.c.id)
        .where(visits.c.uid == visit_uid)
    )
    return str(conn.execute(stmt).scalar_one())


def patient_rows(conn: Connection, patient_id: int) -> dict[str, list[Row[Any]]]:
    """Visits (date order), treatments (start order) and relapses (onset order) of a patient."""
    return {
        "visits": list(
            conn.execute(
                select(visits)
                .where(visits.c.patient_id == patient_id)
                .order_by(visits.c.visit_date, visits.c.id)
            )
        ),
        "treatments": list(
            conn.execute(
                select(treatments)
                .where(treatments.c.patient_id == patient_id)
                .order_by(treatments.c.start_date, treatments.c.id)
            )
        ),
        "relapses": list(
            conn.execute(
                select(relapses)
                .where(relapses.c.patient_id == patient_id)
                .order_by(relapses.c.onset_date, relapses.c.id)
            )
        ),
    }


def visit_record(row: Row[Any], key: str) -> VisitRecord:
    return VisitRecord(
        uid=row.uid,
        patient_key=key,
        visit_date=row.visit_date,
        case=json.loads(row.case_json),
        case_sha256=row.case_sha256,
        severity_total=row.severity_total,
        created_at=row.created_at,
    )


def treatment_record(row: Row[Any], key: str) -> TreatmentRecord:
    return TreatmentRecord(
        uid=row.uid,
        patient_key=key,
        agent=row.agent,
        start_date=row.start_date,
        stop_date=row.stop_date,
        dose=row.dose,
        note=row.note,
        created_at=row.created_at,
    )


def relapse_record(row: Row[Any], key: str) -> RelapseRecord:
    return RelapseRecord(
        uid=row.uid,
        patient_key=key,
        onset_date=row.onset_date,
        note=row.note,
        created_at=row.created_at,
    )


def assessment_record(row: Row[Any], visit_uid: str) -> StoredAssessment:
    return StoredAssessment(
        uid=row.uid,
        visit_uid=visit_uid,
        kb_version=row.kb_version,
        kb_sha256=row.kb_sha256,
        omscds_version=row.omscds_version,
        input_case=json.loads(row.input_json),
        assessment=json.loads(row.assessment_json),
        created_at=row.created_at,
    )


def insert_assessment(conn: Connection, stored: StoredAssessment) -> None:
    visit = visit_row(conn, stored.visit_uid)
    conn.execute(
        insert(assessments).values(
            uid=stored.uid,
            visit_id=visit.id,
            kb_version=stored.kb_version,
            kb_sha256=stored.kb_sha256,
            omscds_version=stored.omscds_version,
            input_json=canonical_json(stored.input_case),
            assessment_json=canonical_json(stored.assessment),
            created_at=stored.created_at,
        )
    )


def list_patients(conn: Connection, limit: int, offset: int) -> Page[PatientSummary]:
    total = conn.execute(select(func.count()).select_from(patients)).scalar_one()
    page = select(patients).order_by(patients.c.key).limit(limit).offset(offset).subquery()
    stmt = (
        select(
            page, func.count(visits.c.id).label("n"), func.max(visits.c.visit_date).label("last")
        )
        .select_from(page.outerjoin(visits, visits.c.patient_id == page.c.id))
        .group_by(*page.c)
        .order_by(page.c.key)
    )
    items = tuple(_summary(r, r.n, r.last) for r in conn.execute(stmt))
    return Page(items, int(total), limit, offset)


def patient_history(conn: Connection, key: str) -> PatientHistory:
    prow = _require_patient(conn, key)
    rows = patient_rows(conn, prow.id)
    visit_recs = tuple(visit_record(v, key) for v in rows["visits"])
    latest = None
    if rows["visits"]:
        last = rows["visits"][-1]
        arow = conn.execute(
            select(assessments)
            .where(assessments.c.visit_id == last.id)
            .order_by(assessments.c.id.desc())
            .limit(1)
        ).first()
        if arow is not None:
            latest = assessment_record(arow, last.uid)
    last_date = visit_recs[-1].visit_date if visit_recs else None
    return PatientHistory(
        patient=_summary(prow, len(visit_recs), last_date),
        visits=visit_recs,
        treatments=tuple(treatment_record(t, key) for t in rows["treatments"]),
        relapses=tuple(relapse_record(r, key) for r in rows["relapses"]),
        latest_assessment=latest,
    )


def visit_page(conn: Connection, key: str, limit: int, offset: int) -> Page[VisitRecord]:
    prow = _require_patient(conn, key)
    where = visits.c.patient_id == prow.id
    total = conn.execute(select(func.count()).select_from(visits).where(where)).scalar_one()
    rows = conn.execute(
        select(visits)
        .where(where)
        .order_by(visits.c.visit_date, visits.c.id)
        .limit(limit)
        .offset(offset)
    )
    return Page(tuple(visit_record(r, key) for r in rows), int(total), limit, offset)


def timeline(conn: Connection, key: str) -> TimelineData:
    prow = _require_patient(conn, key)
    points = conn.execute(
        select(visits.c.visit_date, visits.c.severity_total)
        .where(visits.c.patient_id == prow.id)
        .order_by(visits.c.visit_date, visits.c.id)
    ).all()
    courses = conn.execute(
        select(treatments.c.agent, treatments.c.start_date, treatments.c.stop_date)
        .where(treatments.c.patient_id == prow.id)
        .order_by(treatments.c.start_date, treatments.c.id)
    ).all()
    onsets = conn.execute(
        select(relapses.c.onset_date)
        .where(relapses.c.patient_id == prow.id)
        .order_by(relapses.c.onset_date)
    ).all()
    return TimelineData(
        patient_key=key,
        points=tuple((d, t) for d, t in points),
        treatments=tuple((a, s, e) for a, s, e in courses),
        relapses=tuple(d for (d,) in onsets),
    )


def stored_assessment(conn: Connection, uid: str) -> StoredAssessment:
    row = conn.execute(
        select(assessments, visits.c.uid.label("visit_uid"))
        .join(visits, visits.c.id == assessments.c.visit_id)
        .where(assessments.c.uid == uid)
    ).first()
    if row is None:
        raise InputError(f"no stored assessment {uid!r}", path="assessment")
    return assessment_record(row, row.visit_uid)
