"""Re-assess every patient's latest visit under a knowledge base, and say whose advice changed.

``omscds registry reassess`` answers the one question a knowledge update raises: which of a
clinic's patients would now be advised differently. Each patient's latest visit is assessed
with the given knowledge base (with everything recorded before it, as ``assess_visit`` does),
the new assessment is stored with its knowledge-base version next to the old one (both audited,
action ``reassess``), and the advice is compared (``reasoning.changes.compare_advice``).

The work is split in chunks of patients. The database is read and written in this process, one
transaction per chunk; the assessments run in worker processes (all local cores by default) or
on a Dask distributed cluster. A visit whose latest assessment already carries this knowledge
base's sha256 is skipped, so a run killed part-way resumes where it stopped, and a second run
does nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from omscds.errors import InputError, KnowledgeError
from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.model import parse_case
from omscds.reasoning import assess
from omscds.reasoning.changes import AdviceChange, compare_advice
from omscds.storage.audit import append_audits, now_iso
from omscds.storage.longitudinal import (
    HistoryEntry,
    build_assessment_case,
    canonical_case,
    canonical_json,
)
from omscds.storage.records import Page
from omscds.storage.tables import assessments, patients, relapses, treatments, visits

if TYPE_CHECKING:
    from omscds.storage.repository import Registry

__all__ = ["ReassessItem", "ReassessRun", "advice_changes", "reassess"]

#: patients per chunk: large enough that a worker round trip costs little against ~1 ms per
#: assessment, small enough that a kill loses little and progress moves smoothly
CHUNK = 200


@dataclass(frozen=True)
class ReassessItem:
    """One patient's latest visit, re-assessed."""

    patient_key: str
    visit_uid: str
    visit_date: dt.date
    assessment_uid: str
    #: the knowledge-base version of the assessment compared against (None: none stored)
    before_kb: str | None
    change: AdviceChange | None
    before_sha256: str | None = None

    @property
    def changed(self) -> bool:
        return self.change is not None and self.change.changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "patient": self.patient_key,
            "visit": self.visit_uid,
            "visit_date": self.visit_date.isoformat(),
            "assessment": self.assessment_uid,
            "before_kb": self.before_kb,
            "before_kb_sha256": self.before_sha256,
            "changed": self.changed,
            "change": None if self.change is None else self.change.as_dict(),
        }


@dataclass
class ReassessRun:
    """Counts of a run (filled while it iterates)."""

    kb_version: str
    total: int = 0
    skipped: int = 0
    done: int = 0
    changed: int = 0


@dataclass(frozen=True)
class _Job:
    """What a worker needs to assess one visit (picklable, no database)."""

    patient_key: str
    visit_id: int
    visit_uid: str
    visit_date: dt.date
    current_json: str
    earlier: tuple[tuple[dt.date, str], ...]
    relapse_dates: tuple[dt.date, ...]
    treatments: tuple[tuple[str, dt.date], ...]
    before_kb: str | None
    before_json: str | None
    before_sha256: str | None = None


@dataclass(frozen=True)
class _Done:
    """A worker's result: the stored texts are made in the worker (canonical JSON of a full
    assessment costs about as much as the write; measured)."""

    job: _Job
    omscds_version: str
    input_json: str
    assessment_json: str
    change: AdviceChange | None


@functools.lru_cache(maxsize=4)
def _worker_kb(directory: str | None, sha256: str) -> KnowledgeBase:
    """The knowledge base in a worker process, loaded once per process and checked."""
    kb = load_knowledge(directory)
    if kb.sha256 != sha256:
        raise KnowledgeError(
            f"the worker's knowledge base ({kb.sha256[:12]}) is not the one asked for "
            f"({sha256[:12]}): is {directory or 'the shipped knowledge base'} the same on "
            "every worker?"
        )
    return kb


def _lower_priority() -> None:
    """Run a local worker below this process: the reads and writes here are the pipeline's one
    serial step, and with every core assessing they waited for a core (measured on 2 cores:
    storing a chunk took twice as long in wall time as in CPU time)."""
    with contextlib.suppress(OSError):  # not permitted here: the run is only slower
        os.nice(5)


def _assess_jobs(
    jobs: Sequence[_Job], directory: str | None, sha256: str, threshold: float
) -> list[_Done]:
    """Assess a chunk (runs in a worker; pure apart from loading the knowledge base)."""
    kb = _worker_kb(directory, sha256)
    return _assess_with(jobs, kb, threshold)


def _assess_with(jobs: Sequence[_Job], kb: KnowledgeBase, threshold: float) -> list[_Done]:
    out = []
    for job in jobs:
        current = HistoryEntry(job.visit_date, parse_case(json.loads(job.current_json)))
        earlier = [HistoryEntry(d, parse_case(json.loads(text))) for d, text in job.earlier]
        case = build_assessment_case(
            earlier, current, relapse_dates=job.relapse_dates, treatments=job.treatments
        )
        result = assess(case, kb)
        doc = result.model_dump(mode="json")
        change = (
            None
            if job.before_json is None
            else compare_advice(json.loads(job.before_json), doc, threshold)
        )
        out.append(
            _Done(
                job,
                result.omscds_version,
                canonical_json(canonical_case(case)),
                canonical_json(doc),
                change,
            )
        )
    return out


def _latest_visits(conn: Connection) -> list[tuple[str, int, int]]:
    """(patient key, patient id, latest visit id) of every patient, in key order."""
    rows = conn.execute(
        select(patients.c.key, patients.c.id, visits.c.id.label("visit_id"), visits.c.visit_date)
        .join(visits, visits.c.patient_id == patients.c.id)
        .order_by(patients.c.key, visits.c.visit_date, visits.c.id)
    ).all()
    latest: dict[str, tuple[str, int, int]] = {}
    for r in rows:
        latest[r.key] = (r.key, r.id, r.visit_id)  # ordered: the last row of a key is its latest
    return list(latest.values())


def _still_to_do(conn: Connection, sha256: str) -> tuple[list[tuple[str, int, int]], int]:
    """The latest visits not yet assessed under ``sha256``, and how many already are."""
    latest = _latest_visits(conn)
    done = {
        int(r.visit_id)
        for r in conn.execute(
            select(assessments.c.visit_id).where(assessments.c.kb_sha256 == sha256)
        )
    }
    todo = [t for t in latest if t[2] not in done]
    return todo, len(latest) - len(todo)


def _jobs(conn: Connection, chunk: Sequence[tuple[str, int, int]]) -> list[_Job]:
    """Read everything the chunk's assessments need in a few queries."""
    ids = [pid for _, pid, _ in chunk]
    by_patient: dict[int, list[Any]] = {pid: [] for pid in ids}
    for v in conn.execute(
        select(
            visits.c.id, visits.c.uid, visits.c.patient_id, visits.c.visit_date, visits.c.case_json
        )
        .where(visits.c.patient_id.in_(ids))
        .order_by(visits.c.visit_date, visits.c.id)
    ):
        by_patient[v.patient_id].append(v)
    rel: dict[int, list[dt.date]] = {pid: [] for pid in ids}
    for r in conn.execute(
        select(relapses.c.patient_id, relapses.c.onset_date).where(relapses.c.patient_id.in_(ids))
    ):
        rel[r.patient_id].append(r.onset_date)
    tre: dict[int, list[tuple[str, dt.date]]] = {pid: [] for pid in ids}
    for t in conn.execute(
        select(treatments.c.patient_id, treatments.c.agent, treatments.c.start_date).where(
            treatments.c.patient_id.in_(ids)
        )
    ):
        tre[t.patient_id].append((t.agent, t.start_date))
    latest_ids = [vid for _, _, vid in chunk]
    before: dict[int, tuple[str, str, str]] = {}
    for a in conn.execute(
        select(
            assessments.c.visit_id,
            assessments.c.kb_version,
            assessments.c.assessment_json,
            assessments.c.kb_sha256,
        )
        .where(assessments.c.visit_id.in_(latest_ids))
        .order_by(assessments.c.id)
    ):
        before[a.visit_id] = (a.kb_version, a.assessment_json, a.kb_sha256)  # the last wins
    jobs = []
    for key, pid, vid in chunk:
        history = by_patient[pid]
        current = next(v for v in history if v.id == vid)
        old = before.get(vid)
        jobs.append(
            _Job(
                patient_key=key,
                visit_id=vid,
                visit_uid=current.uid,
                visit_date=current.visit_date,
                current_json=current.case_json,
                earlier=tuple(
                    (v.visit_date, v.case_json)
                    for v in history
                    if (v.visit_date, v.id) < (current.visit_date, current.id)
                ),
                relapse_dates=tuple(rel[pid]),
                treatments=tuple(tre[pid]),
                before_kb=None if old is None else old[0],
                before_json=None if old is None else old[1],
                before_sha256=None if old is None else old[2],
            )
        )
    return jobs


def _store(registry: Registry, done: Sequence[_Done]) -> list[ReassessItem]:
    """Store a chunk in one transaction: the assessments in one statement, then their audit
    rows in another (chained in order)."""
    kb = registry.kb
    uids = [uuid.uuid4().hex for _ in done]
    rows = [
        {
            "uid": uid,
            "visit_id": d.job.visit_id,
            "kb_version": kb.version,
            "kb_sha256": kb.sha256,
            "omscds_version": d.omscds_version,
            "input_json": d.input_json,
            "assessment_json": d.assessment_json,
            "created_at": now_iso(),
        }
        for d, uid in zip(done, uids, strict=True)
    ]
    with registry.transaction() as conn:
        if rows:
            conn.execute(insert(assessments), rows)
        append_audits(
            conn,
            actor=registry.actor,
            action="reassess",
            entity="assessment",
            rows=[
                (uid, d.job.patient_key, d.assessment_json)
                for d, uid in zip(done, uids, strict=True)
            ],
        )
    return [
        ReassessItem(
            patient_key=d.job.patient_key,
            visit_uid=d.job.visit_uid,
            visit_date=d.job.visit_date,
            assessment_uid=uid,
            before_kb=d.job.before_kb,
            change=d.change,
            before_sha256=d.job.before_sha256,
        )
        for d, uid in zip(done, uids, strict=True)
    ]


def _chunks(todo: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(todo), size):
        yield todo[i : i + size]


def reassess(
    registry: Registry,
    *,
    kb_dir: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    threshold: float | None = None,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[ReassessItem | ReassessRun]:
    """Re-assess with ``registry.kb`` (loaded from ``kb_dir``; None: the shipped one).

    Yields the run's counts first (a ``ReassessRun`` with ``total`` and ``skipped``), then one
    ``ReassessItem`` per patient as its chunk is stored. ``workers``: processes (default: every
    local core; 1: in this process). ``scheduler``: a Dask distributed scheduler address.
    ``progress(done, total)`` is called after each stored chunk.
    """
    kb = registry.kb
    limit = kb.param("reassess_probability_change") if threshold is None else threshold
    if not 0 <= limit <= 1:
        raise InputError("the threshold is a probability change between 0 and 1", path="threshold")
    if chunk < 1:
        raise InputError("the chunk size must be at least 1", path="chunk")
    n = (os.cpu_count() or 1) if workers is None else workers
    if n < 1:
        raise InputError("workers must be at least 1", path="workers")
    with registry.reading() as conn:
        todo, skipped = _still_to_do(conn, kb.sha256)
    run = ReassessRun(kb_version=kb.version, total=len(todo) + skipped, skipped=skipped)
    yield run
    if not todo:
        return

    def jobs_of(part: Sequence[tuple[str, int, int]]) -> list[_Job]:
        with registry.reading() as conn:
            return _jobs(conn, part)

    def stored(done: Sequence[_Done]) -> Iterator[ReassessItem]:
        items = _store(registry, done)
        run.done += len(items)
        run.changed += sum(i.changed for i in items)
        if progress is not None:
            progress(run.done + run.skipped, run.total)
        yield from items

    parts = _chunks(todo, chunk)
    if scheduler is None and n == 1:
        for part in parts:
            yield from stored(_assess_with(jobs_of(part), kb, limit))
        return
    if scheduler is not None:
        yield from _on_dask(scheduler, parts, jobs_of, stored, kb_dir, kb.sha256, limit)
        return
    with ProcessPoolExecutor(max_workers=n, initializer=_lower_priority) as pool:
        pending: set[Future[list[_Done]]] = set()
        for part in parts:
            pending.add(pool.submit(_assess_jobs, jobs_of(part), kb_dir, kb.sha256, limit))
            if len(pending) >= 2 * n:  # a bounded window: memory stays flat at any size
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield from stored(fut.result())
        for fut in pending:
            yield from stored(fut.result())


def _on_dask(
    scheduler: str,
    parts: Iterable[Sequence[tuple[str, int, int]]],
    jobs_of: Callable[[Sequence[tuple[str, int, int]]], list[_Job]],
    stored: Callable[[Sequence[_Done]], Iterator[ReassessItem]],
    kb_dir: str | None,
    sha256: str,
    limit: float,
) -> Iterator[ReassessItem]:
    import dask.distributed

    dd: Any = dask.distributed
    try:
        client = dd.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise InputError(
            f"cannot reach the Dask scheduler at {scheduler}: {exc}", path="scheduler"
        ) from None
    try:
        window = max(2, 2 * len(client.scheduler_info().get("workers", {})))
        pending: list[Any] = []
        for part in parts:
            pending.append(
                client.submit(_assess_jobs, jobs_of(part), kb_dir, sha256, limit, pure=False)
            )
            if len(pending) >= window:
                yield from stored(pending.pop(0).result())
        for fut in pending:
            yield from stored(fut.result())
    finally:
        client.close()


def advice_changes(
    registry: Registry, *, threshold: float | None = None, limit: int = 50, offset: int = 0
) -> Page[ReassessItem]:
    """The patients whose latest visit was re-assessed under this registry's knowledge base
    with different advice than its assessment under the knowledge base before (what the web
    registry's "advice changes" page lists; ``registry reassess`` makes the assessments).

    Read-only: compares stored assessments, never assesses.
    """
    kb = registry.kb
    limit_p = kb.param("reassess_probability_change") if threshold is None else threshold
    out: list[ReassessItem] = []
    with registry.reading() as conn:
        latest = _latest_visits(conn)
        for part in _chunks(latest, 500):
            ids = [vid for _, _, vid in part]
            rows: dict[int, list[Any]] = {vid: [] for vid in ids}
            for a in conn.execute(
                select(
                    assessments.c.visit_id,
                    assessments.c.uid,
                    assessments.c.kb_version,
                    assessments.c.kb_sha256,
                    assessments.c.assessment_json,
                )
                .where(assessments.c.visit_id.in_(ids))
                .order_by(assessments.c.id)
            ):
                rows[a.visit_id].append(a)
            dates = {
                v.id: (v.uid, v.visit_date)
                for v in conn.execute(
                    select(visits.c.id, visits.c.uid, visits.c.visit_date).where(
                        visits.c.id.in_(ids)
                    )
                )
            }
            for key, _pid, vid in part:
                stored = rows[vid]
                if not stored or stored[-1].kb_sha256 != kb.sha256:
                    continue  # not re-assessed under this knowledge base
                before = next((r for r in reversed(stored) if r.kb_sha256 != kb.sha256), None)
                if before is None:
                    continue
                change = compare_advice(
                    json.loads(before.assessment_json),
                    json.loads(stored[-1].assessment_json),
                    limit_p,
                )
                if change.changed:
                    uid, date = dates[vid]
                    out.append(
                        ReassessItem(
                            patient_key=key,
                            visit_uid=uid,
                            visit_date=date,
                            assessment_uid=stored[-1].uid,
                            before_kb=before.kb_version,
                            change=change,
                            before_sha256=before.kb_sha256,
                        )
                    )
    return Page(tuple(out[offset : offset + limit]), len(out), limit, offset)
