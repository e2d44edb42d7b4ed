"""HTTP endpoints of the longitudinal registry under ``/api/v1/registry`` (paginated listings).

The database URL comes from ``OMSCDS_DATABASE_URL`` (else the default SQLite file); the registry
is opened, and its schema created or upgraded, on the first request that needs it. Errors are
problem+json bodies: 422 for bad input, 404 for an unknown patient, 503 for storage failures.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from omscds.errors import InputError, NotFoundError, OmscdsError, StorageError
from omscds.interfaces.api.deps import get_kb
from omscds.knowledge import KnowledgeBase

if TYPE_CHECKING:
    from omscds.storage import Registry

__all__ = ["get_registry", "router"]

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
_lock = threading.Lock()
Limit = Query(50, ge=1, le=1000)
#: bounded so that an absurd offset is a 422, not a database overflow
Offset = Query(0, ge=0, le=2**62)


def get_registry(request: Request, kb: KnowledgeBase = Depends(get_kb)) -> Registry:
    """The app's registry, opened lazily once (``app.state.registry``)."""
    reg: Registry | None = getattr(request.app.state, "registry", None)
    if reg is None:
        with _lock:
            reg = getattr(request.app.state, "registry", None)
            if reg is None:
                from omscds.storage import open_registry

                reg = open_registry(None, kb, actor="api", create=True)
                request.app.state.registry = reg
    return reg


def _problem(status: int, exc: OmscdsError) -> JSONResponse:
    body = {"type": "about:blank", "title": type(exc).__name__, "status": status,
            "detail": exc.message, "path": exc.path}  # fmt: skip
    if isinstance(exc, InputError) and len(exc.errors) > 1:
        body["errors"] = [{"path": p, "message": m} for p, m in exc.errors]
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _run(fn: Callable[[], Any], status: int = 200) -> Any:
    try:
        result = fn()
    except InputError as exc:
        return _problem(404 if isinstance(exc, NotFoundError) else 422, exc)
    except StorageError as exc:
        return _problem(503, exc)
    except OmscdsError as exc:
        return _problem(500, exc)
    if isinstance(result, Response):
        return result
    return JSONResponse(json.loads(json.dumps(result, default=str)), status_code=status)


def _plain(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj  # type: ignore[arg-type]


def _page(page: Any) -> dict[str, Any]:
    return {"items": [_plain(i) for i in page.items], "total": page.total,
            "limit": page.limit, "offset": page.offset}  # fmt: skip


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatientIn(_In):
    key: str
    external_ids: dict[str, str] = Field(default_factory=dict)


class VisitIn(_In):
    case: dict[str, Any]
    date: str | None = None
    assess: bool = True


class TreatmentIn(_In):
    agent: str
    start: str
    stop: str | None = None
    dose: str | None = None
    note: str | None = None


class RelapseIn(_In):
    date: str
    note: str | None = None


@router.get("/patients")
def list_patients(
    limit: int = Limit, offset: int = Offset, reg: Registry = Depends(get_registry)
) -> Any:
    """Patients by key, with visit counts (paginated)."""
    return _run(lambda: _page(reg.list_patients(limit, offset)))


@router.post("/patients", status_code=201)
def add_patient(body: PatientIn, reg: Registry = Depends(get_registry)) -> Any:
    def go() -> dict[str, Any]:
        reg.add_patient(body.key, body.external_ids)
        return {"key": body.key}

    return _run(go, 201)


@router.get("/patients/{key}")
def show_patient(key: str, reg: Registry = Depends(get_registry)) -> Any:
    """The patient's history (every visit, course, relapse) and the latest assessment."""
    return _run(lambda: _plain(reg.history(key)))


@router.get("/patients/{key}/visits")
def list_visits(
    key: str, limit: int = Limit, offset: int = Offset, reg: Registry = Depends(get_registry)
) -> Any:
    return _run(lambda: _page(reg.visits(key, limit, offset)))


@router.post("/patients/{key}/visits", status_code=201)
def add_visit(key: str, body: VisitIn, reg: Registry = Depends(get_registry)) -> Any:
    """Validate and store a visit; by default assess it with the patient's history."""

    def go() -> dict[str, Any]:
        rec = reg.add_visit(key, body.case, body.date, assess_now=body.assess)
        latest = reg.history(key).latest_assessment
        out: dict[str, Any] = {"visit": _plain(rec), "assessment": None}
        if latest is not None and latest.visit_uid == rec.uid:
            out["assessment"] = _plain(latest)
        return out

    return _run(go, 201)


@router.post("/patients/{key}/treatments", status_code=201)
def add_treatment(key: str, body: TreatmentIn, reg: Registry = Depends(get_registry)) -> Any:
    return _run(
        lambda: {
            "uid": reg.add_treatment(key, body.agent, body.start, body.stop, body.dose, body.note)
        },
        201,
    )


@router.post("/patients/{key}/relapses", status_code=201)
def add_relapse(key: str, body: RelapseIn, reg: Registry = Depends(get_registry)) -> Any:
    return _run(lambda: {"uid": reg.add_relapse(key, body.date, body.note)}, 201)


@router.get("/patients/{key}/timeline")
def timeline(
    key: str,
    format: Literal["json", "svg", "png"] = "json",
    reg: Registry = Depends(get_registry),
) -> Any:
    """Severity totals, courses and relapses as JSON, or drawn as SVG/PNG."""

    def go() -> Any:
        data = reg.timeline(key)
        if format == "json":
            return _plain(data)
        from omscds.interfaces.timeline import timeline_plot
        from omscds.reports.timeline import draw_timeline

        plot = timeline_plot(data, reg.kb, f"Patient {key}")
        with tempfile.TemporaryDirectory() as tmp:
            path = draw_timeline(plot, Path(tmp) / f"timeline.{format}")
            content = path.read_bytes()
        media = "image/svg+xml" if format == "svg" else "image/png"
        return Response(content, media_type=media)

    return _run(go)


@router.get("/audit")
def audit(limit: int = Limit, offset: int = Offset, reg: Registry = Depends(get_registry)) -> Any:
    """The append-only audit log (oldest first)."""
    return _run(lambda: _page(reg.audit(limit, offset)))


@router.get("/export")
def export(
    format: Literal["jsonl", "fhir"] = "jsonl",
    reg: Registry = Depends(get_registry),
    kb: KnowledgeBase = Depends(get_kb),
) -> Any:
    """The whole registry as JSON lines (streamed) or as a FHIR Bundle."""
    from omscds.interop.fhir.registry import records_to_bundle
    from omscds.storage.exchange import iter_records
    from omscds.storage.longitudinal import canonical_json

    if format == "fhir":
        return _run(lambda: records_to_bundle(iter_records(reg), kb))

    def lines() -> Iterator[str]:
        for record in iter_records(reg):
            yield canonical_json(record) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/import")
async def import_(request: Request, reg: Registry = Depends(get_registry)) -> Any:
    """Import an export: JSON lines, or a FHIR Bundle (``application/fhir+json`` or JSON)."""
    from starlette.concurrency import run_in_threadpool

    from omscds.interop.fhir.registry import bundle_to_records
    from omscds.storage.exchange import import_records, read_jsonl

    raw = (await request.body()).decode("utf-8", errors="replace")

    def go() -> dict[str, Any]:
        kind = request.headers.get("content-type", "")
        if "json" in kind and "ndjson" not in kind:
            try:
                doc = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg}", path="body") from None
            records = bundle_to_records(doc)
        else:
            records = read_jsonl(raw.splitlines())
        summary = import_records(reg, records)
        return {"added": summary.added, "skipped": summary.skipped}

    return await run_in_threadpool(_run, go)
