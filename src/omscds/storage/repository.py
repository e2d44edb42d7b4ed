"""The registry repository: every write validated first, then done in one transaction with its
audit row; reads return plain records (``records.py``)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from omscds.errors import InputError, OmscdsError, StorageError
from omscds.knowledge import KnowledgeBase
from omscds.model import Case, parse_case
from omscds.reasoning import assess, resolve
from omscds.reasoning.severity import score_severity
from omscds.storage import queries
from omscds.storage.audit import (
    AuditCheck,
    append_audit,
    default_actor,
    now_iso,
    sha256_text,
)
from omscds.storage.database import (
    READ_ONLY,
    SQLITE_BUSY_TIMEOUT_MS,
    current_revision,
    db_reason,
    head_revision,
    make_engine,
    migrate,
)
from omscds.storage.integrity import RecordCheck
from omscds.storage.longitudinal import (
    HistoryEntry,
    build_assessment_case,
    canonical_case,
    canonical_json,
)
from omscds.storage.privacy import (
    KEY_PATTERN,
    check_external_ids,
    check_free_text,
    check_patient_key,
)
from omscds.storage.reassess import ReassessItem, ReassessRun, reassess
from omscds.storage.records import (
    AuditEntry,
    Page,
    PatientHistory,
    PatientSummary,
    StoredAssessment,
    TimelineData,
    VisitRecord,
)
from omscds.storage.tables import patients, relapses, treatments, visits
from omscds.storage.vocabulary import parse_agent

__all__ = [
    "KEY_PATTERN",
    "Registry",
    "check_case_text",
    "open_registry",
    "parse_date",
]

MAX_PAGE = 1000
#: no listing has a billion rows; a larger offset is a mistake (and overflows SQLite's integers)
MAX_OFFSET = 1_000_000_000


def parse_date(value: str | dt.date | None, path: str) -> dt.date | None:
    """An ISO date from text (or a date); ``InputError`` naming ``path`` otherwise."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{value!r} is not an ISO date (YYYY-MM-DD)", path=path) from None


def _check_key(key: str) -> str:
    """The syntax of a key, for lookups (a key stored before the pseudonym rules still reads);
    a new patient's key is checked in full by ``privacy.check_patient_key``."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise InputError(
            "a patient key is 1-128 letters, digits or . _ : - (a pseudonym, never a name)",
            path="patient",
        )
    return key


def _check_page(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}", path="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InputError(f"offset must be between 0 and {MAX_OFFSET:,}", path="offset")


def _uid() -> str:
    return uuid.uuid4().hex


def check_case_text(case: Case, prefix: str = "") -> None:
    """The free text of a case snapshot (its id, test notes and locations) holds no
    health-service number, phone or e-mail (``privacy.check_free_text``)."""
    where = f"{prefix}." if prefix else ""
    check_free_text(case.case_id, f"{where}case_id")
    for i, test in enumerate(case.tests):
        check_free_text(test.note, f"{where}tests[{i}].note")
        check_free_text(test.location, f"{where}tests[{i}].location")


class Registry:
    """The longitudinal registry on one database. Create with :func:`open_registry`."""

    def __init__(
        self,
        engine: Engine,
        kb: KnowledgeBase,
        actor: str | None = None,
        *,
        allow_identifiers: bool | None = None,
        busy_timeout_s: float | None = None,
    ) -> None:
        self.engine = engine
        #: the SQLite busy timeout the engine was made with (None: the default), for messages
        self.busy_timeout_s = busy_timeout_s
        self.kb = kb
        self.actor = actor or default_actor()
        #: whether external ids may hold direct identifiers (off unless the caller says so:
        #: ``OMSCDS_REGISTRY_ALLOW_IDENTIFIERS`` through the settings class)
        self.allow_identifiers = bool(allow_identifiers)

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OmscdsError:
            raise
        except IntegrityError as exc:
            raise StorageError(f"the write conflicts with stored data: {db_reason(exc)}") from None
        except SQLAlchemyError as exc:
            raise self._busy(exc) or StorageError(
                f"database write failed: {db_reason(exc)}"
            ) from None

    def _busy(self, exc: SQLAlchemyError) -> StorageError | None:
        if "database is locked" not in db_reason(exc):
            return None
        waited = self.busy_timeout_s
        if waited is None:
            waited = SQLITE_BUSY_TIMEOUT_MS / 1000
        return StorageError(
            f"the registry is busy: another writer held the lock for more than {waited:g} s "
            "(try again)",
            path="database",
        )

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**READ_ONLY)
                yield conn
        except OmscdsError:
            raise
        except SQLAlchemyError as exc:
            raise StorageError(f"database read failed: {db_reason(exc)}") from None

    def severity_total(self, case: Case) -> int | None:
        """The severity total the knowledge base computes for a snapshot (None if unscored)."""
        if case.severity is None or case.severity.scale not in self.kb.severity_scales:
            return None
        result = score_severity(case, self.kb)
        return None if result is None else result.total

    def close(self) -> None:
        self.engine.dispose()

    # -- patients -----------------------------------------------------------------------
    def _patient_id(
        self, conn: Connection, key: str, external_ids: Mapping[str, str] | None = None
    ) -> int:
        """Get or create the patient (safe against a concurrent writer creating it too)."""
        found = conn.execute(select(patients.c.id).where(patients.c.key == key)).scalar()
        if found is not None:
            return int(found)
        check_patient_key(key)  # a new patient: the key must look like a pseudonym
        check_external_ids(external_ids, allow_identifiers=self.allow_identifiers)
        ext = canonical_json(dict(external_ids or {}))
        values = {"key": key, "external_ids": ext, "created_at": now_iso()}
        stmt: Any
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(patients).values(**values)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(patients).values(**values)
        # RETURNING tells whether this statement created the row (rowcount is not reliable)
        created = conn.execute(
            stmt.on_conflict_do_nothing(index_elements=["key"]).returning(patients.c.id)
        ).first()
        if created is not None:
            append_audit(
                conn,
                actor=self.actor,
                action="create",
                entity="patient",
                entity_uid=key,
                patient_key=key,
                payload=canonical_json({"key": key, "external_ids": json.loads(ext)}),
            )
            return int(created[0])
        return int(conn.execute(select(patients.c.id).where(patients.c.key == key)).scalar_one())

    def add_patient(self, key: str, external_ids: Mapping[str, str] | None = None) -> None:
        """Register a patient by pseudonymous key (no-op if it exists)."""
        _check_key(key)
        check_external_ids(external_ids, allow_identifiers=self.allow_identifiers)
        with self.transaction() as conn:
            self._patient_id(conn, key, external_ids)

    # -- visits -------------------------------------------------------------------------
    def prepare_visit(self, case_data: Any, visit_date: str | dt.date | None = None) -> Case:
        """Validate a visit before anything is written: the case, its date and its vocabulary."""
        case = parse_case(case_data)
        when = parse_date(visit_date, "date") or case.visit_date
        if when is None:
            raise InputError(
                "a visit needs a date: give --date or the case's visit_date", path="date"
            )
        case = case.model_copy(update={"visit_date": when})
        resolve(case, self.kb)  # raises InputError naming unknown findings or severity items
        check_case_text(case)
        return case

    def add_visit(
        self,
        key: str,
        case_data: Any,
        visit_date: str | dt.date | None = None,
        *,
        assess_now: bool = True,
    ) -> VisitRecord:
        """Validate and store one visit, then (by default) assess it with its history."""
        return self.add_visits([(key, case_data, visit_date)], assess_now=assess_now)[0]

    def add_visits(
        self,
        batch: Sequence[tuple[str, Any, str | dt.date | None]],
        *,
        assess_now: bool = True,
    ) -> list[VisitRecord]:
        """Store several visits in one transaction: all of them or, on any error, none."""
        prepared: list[tuple[str, Case]] = []
        for i, (key, data, when) in enumerate(batch):
            try:
                prepared.append((_check_key(key), self.prepare_visit(data, when)))
            except InputError as exc:
                if len(batch) == 1:
                    raise
                raise InputError(exc.message, path=f"visits[{i}].{exc.path}") from None
        out: list[VisitRecord] = []
        with self.transaction() as conn:
            for key, case in prepared:
                out.append(self._insert_visit(conn, key, case))
                if assess_now:
                    self._assess_visit(conn, out[-1].uid)
        return out

    def _insert_visit(self, conn: Connection, key: str, case: Case) -> VisitRecord:
        pid = self._patient_id(conn, key)
        assert case.visit_date is not None
        data = canonical_case(case)
        text = canonical_json(data)
        record = VisitRecord(
            uid=_uid(),
            patient_key=key,
            visit_date=case.visit_date,
            case=data,
            case_sha256=sha256_text(text),
            severity_total=self.severity_total(case),
            created_at=now_iso(),
        )
        conn.execute(
            insert(visits).values(
                uid=record.uid,
                patient_id=pid,
                visit_date=record.visit_date,
                case_json=text,
                case_sha256=record.case_sha256,
                severity_total=record.severity_total,
                created_at=record.created_at,
            )
        )
        append_audit(
            conn,
            actor=self.actor,
            action="create",
            entity="visit",
            entity_uid=record.uid,
            patient_key=key,
            payload=text,
        )
        return record

    # -- assessments --------------------------------------------------------------------
    def assessment_case(self, conn: Connection, visit_uid: str, as_of: str | None = None) -> Case:
        """The case a visit is assessed with (see ``longitudinal.py``).

        ``as_of`` (a ``created_at`` time) leaves out what was recorded after it: the history
        as it stood when a stored assessment was made, which import recomputes it from.
        """
        visit = queries.visit_row(conn, visit_uid)
        history = queries.patient_rows(conn, visit.patient_id)

        def known(row: Any) -> bool:
            return as_of is None or str(row.created_at) <= as_of

        current = HistoryEntry(visit.visit_date, parse_case(json.loads(visit.case_json)))
        earlier = [
            HistoryEntry(v.visit_date, parse_case(json.loads(v.case_json)))
            for v in history["visits"]
            if v.id != visit.id and (v.visit_date, v.id) < (visit.visit_date, visit.id) and known(v)
        ]
        return build_assessment_case(
            earlier,
            current,
            relapse_dates=[r.onset_date for r in history["relapses"] if known(r)],
            treatments=[(t.agent, t.start_date) for t in history["treatments"] if known(t)],
        )

    def _assess_visit(
        self,
        conn: Connection,
        visit_uid: str,
        *,
        uid: str | None = None,
        created_at: str | None = None,
        action: str = "create",
    ) -> StoredAssessment:
        """Assess a stored visit with this registry's knowledge base and store the result.

        Import passes the ``uid`` and ``created_at`` of the record it replaces, so a re-import
        is skipped and a round trip stays lossless; the content is always computed here, from
        the history recorded up to ``created_at``.
        """
        case = self.assessment_case(conn, visit_uid, as_of=created_at)
        result = assess(case, self.kb)
        stored = StoredAssessment(
            uid=uid or _uid(),
            visit_uid=visit_uid,
            kb_version=self.kb.version,
            kb_sha256=self.kb.sha256,
            omscds_version=result.omscds_version,
            input_case=canonical_case(case),
            assessment=result.model_dump(mode="json"),
            created_at=created_at or now_iso(),
        )
        queries.insert_assessment(conn, stored)
        append_audit(
            conn,
            actor=self.actor,
            action=action,
            entity="assessment",
            entity_uid=stored.uid,
            patient_key=queries.visit_patient_key(conn, visit_uid),
            payload=canonical_json(stored.assessment),
        )
        return stored

    def assess_visit(self, visit_uid: str) -> StoredAssessment:
        """Assess a stored visit now (with this registry's knowledge base) and store it."""
        with self.transaction() as conn:
            return self._assess_visit(conn, visit_uid)

    def reassess(self, **options: Any) -> Iterator[ReassessItem | ReassessRun]:
        """Re-assess every patient's latest visit with this registry's knowledge base
        (``storage.reassess.reassess``: the options, resumable, which advice changed)."""
        return reassess(self, **options)

    def assess_latest(self, key: str) -> StoredAssessment:
        """Assess the patient's latest visit with everything recorded before it."""
        history = self.history(key)
        if not history.visits:
            raise InputError(f"patient {key!r} has no visits", path="patient")
        return self.assess_visit(history.visits[-1].uid)

    # -- treatments and relapses --------------------------------------------------------
    def add_treatment(
        self,
        key: str,
        agent: str,
        start: str | dt.date,
        stop: str | dt.date | None = None,
        dose: str | None = None,
        note: str | None = None,
    ) -> str:
        """Record a treatment course; returns its uid."""
        _check_key(key)
        chosen = parse_agent(agent)
        start_d = parse_date(start, "start")
        stop_d = parse_date(stop, "stop")
        if start_d is None:
            raise InputError("a treatment course needs a start date", path="start")
        if stop_d is not None and stop_d < start_d:
            raise InputError("the stop date is before the start date", path="stop")
        check_free_text(dose, "dose")
        check_free_text(note, "note")
        uid = _uid()
        row = {
            "uid": uid,
            "agent": chosen.value,
            "start_date": start_d,
            "stop_date": stop_d,
            "dose": dose or None,
            "note": note or None,
            "created_at": now_iso(),
        }
        with self.transaction() as conn:
            pid = self._patient_id(conn, key)
            conn.execute(insert(treatments).values(patient_id=pid, **row))
            payload = canonical_json({k: str(v) if v is not None else None for k, v in row.items()})
            append_audit(
                conn,
                actor=self.actor,
                action="create",
                entity="treatment",
                entity_uid=uid,
                patient_key=key,
                payload=payload,
            )
        return uid

    def add_relapse(self, key: str, onset: str | dt.date, note: str | None = None) -> str:
        """Record a relapse event (OMS back after a remission); returns its uid."""
        _check_key(key)
        onset_d = parse_date(onset, "date")
        if onset_d is None:
            raise InputError("a relapse needs an onset date", path="date")
        check_free_text(note, "note")
        uid = _uid()
        with self.transaction() as conn:
            pid = self._patient_id(conn, key)
            row = {"uid": uid, "onset_date": onset_d, "note": note or None, "created_at": now_iso()}
            conn.execute(insert(relapses).values(patient_id=pid, **row))
            append_audit(
                conn,
                actor=self.actor,
                action="create",
                entity="relapse",
                entity_uid=uid,
                patient_key=key,
                payload=canonical_json(
                    {k: str(v) if v is not None else None for k, v in row.items()}
                ),
            )
        return uid

    # -- reads --------------------------------------------------------------------------
    def list_patients(self, limit: int = 50, offset: int = 0) -> Page[PatientSummary]:
        _check_page(limit, offset)
        with self.reading() as conn:
            return queries.list_patients(conn, limit, offset)

    def has_patient(self, key: str) -> bool:
        with self.reading() as conn:
            return queries.patient_row(conn, key) is not None

    def history(self, key: str) -> PatientHistory:
        """Every visit, course and relapse of a patient and the latest stored assessment."""
        _check_key(key)
        with self.reading() as conn:
            return queries.patient_history(conn, key)

    def visits(self, key: str, limit: int = 50, offset: int = 0) -> Page[VisitRecord]:
        _check_page(limit, offset)
        _check_key(key)
        with self.reading() as conn:
            return queries.visit_page(conn, key, limit, offset)

    def timeline(self, key: str) -> TimelineData:
        """Severity totals, treatment courses and relapses of a patient, in date order."""
        _check_key(key)
        with self.reading() as conn:
            return queries.timeline(conn, key)

    def stored_assessment(self, uid: str) -> StoredAssessment:
        with self.reading() as conn:
            return queries.stored_assessment(conn, uid)

    def verify_audit(self, anchor: tuple[int, str] | None = None) -> AuditCheck:
        """Check the audit log's hash chain (see ``audit.verify_audit``)."""
        from omscds.storage.audit import verify_audit

        with self.reading() as conn:
            return verify_audit(conn, anchor)

    def verify_records(self) -> RecordCheck:
        """Check visits and stored assessments against their audit rows (``integrity.py``)."""
        from omscds.storage.integrity import verify_records

        with self.reading() as conn:
            return verify_records(conn)

    def audit(self, limit: int = 100, offset: int = 0) -> Page[AuditEntry]:
        from omscds.storage.audit import list_audit

        _check_page(limit, offset)
        with self.reading() as conn:
            return list_audit(conn, limit, offset)


def open_registry(
    url: str | None = None,
    kb: KnowledgeBase | None = None,
    *,
    actor: str | None = None,
    create: bool = False,
    allow_identifiers: bool | None = None,
    busy_timeout_s: float | None = None,
) -> Registry:
    """Open the registry at ``url`` (see ``database.resolve_url``).

    With ``create`` the schema is created or upgraded to the newest revision; otherwise a
    database that is not at the newest revision is refused with a message saying what to run.
    ``allow_identifiers`` lets external ids hold direct identifiers (default no; the service
    and the command line pass ``OMSCDS_REGISTRY_ALLOW_IDENTIFIERS`` from their settings).
    ``busy_timeout_s`` bounds how long a SQLite writer waits for another writer's lock (default
    30 s) before a ``StorageError`` saying the registry is busy.
    """
    from omscds.knowledge import load_knowledge

    engine = make_engine(url, busy_timeout_s=busy_timeout_s)
    kb = kb or load_knowledge()
    if create:
        migrate(engine, kb=kb)
    else:
        rev, head = current_revision(engine), head_revision()
        if rev != head:
            engine.dispose()
            what = "is not initialised" if rev is None else f"is at schema revision {rev}"
            raise StorageError(
                f"the registry database {what} (newest: {head}): run `omscds registry init`",
                path="database",
            )
    return Registry(
        engine, kb, actor, allow_identifiers=allow_identifiers, busy_timeout_s=busy_timeout_s
    )
