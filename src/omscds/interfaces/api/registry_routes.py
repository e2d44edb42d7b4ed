"""HTTP endpoints of the longitudinal registry under ``/api/v1/registry`` (paginated listings).

The database URL comes from ``Settings.database_url`` (``OMSCDS_DATABASE_URL``, else the default
SQLite file); the registry is opened, and its schema created or upgraded, on the first request
that needs it. Roles:
clinician reads, registrar writes patients, visits, courses and relapses, auditor reads the
audit log, admin exports and imports. Each request's registry records the caller as the audit
actor. Errors come from the one table: 422 bad input, 404 unknown patient, 503 registry busy
or at another schema revision. Every handler is a plain ``def`` (a worker thread).
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

from omscds import __version__
from omscds.errors import InputError, StorageError
from omscds.interfaces.api.auth import ADMIN, AUDITOR, CLINICIAN, REGISTRAR, Principal, require
from omscds.interfaces.api.deps import get_kb
from omscds.interfaces.api.guards import StrictJsonRoute
from omscds.interfaces.api.problems import BodyError
from omscds.interfaces.api.settings import Settings
from omscds.knowledge import KnowledgeBase
from omscds.model.strict import loads_json

if TYPE_CHECKING:
    from omscds.storage import Registry

__all__ = ["get_registry", "open_app_registry", "router"]

router = APIRouter(prefix="/api/v1/registry", tags=["registry"], route_class=StrictJsonRoute)
_lock = threading.Lock()
Limit = Query(50, ge=1, le=1000)
#: bounded so that an absurd offset is a 422, not a database overflow
Offset = Query(0, ge=0, le=2**62)
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated", "content": {"application/problem+json": {}}},
    403: {"description": "Missing role", "content": {"application/problem+json": {}}},
    503: {"description": "Registry busy", "content": {"application/problem+json": {}}},
}


def open_app_registry(
    request: Request, state_name: str, *, create: bool, url: str | None = None
) -> Registry:
    """The app's registry (``app.state.<state_name>``), opened once; a database at a schema
    revision this omscds does not know (a newer one) is a StorageError (503), not a 500."""
    reg: Registry | None = getattr(request.app.state, state_name, None)
    if reg is not None:
        return reg
    with _lock:
        reg = getattr(request.app.state, state_name, None)
        if reg is None:
            from alembic.util import CommandError

            from omscds.storage import open_registry

            settings: Settings = request.app.state.settings
            try:
                reg = open_registry(
                    url or settings.database_url,
                    request.app.state.kb,
                    actor="api",
                    create=create,
                    allow_identifiers=settings.registry_allow_identifiers,
                    busy_timeout_s=settings.registry_busy_timeout_s,
                )
            except CommandError:
                raise StorageError(
                    "the registry database is at a schema revision this omscds "
                    f"({__version__}) does not know, probably a newer one: upgrade omscds",
                    path="database",
                ) from None
            setattr(request.app.state, state_name, reg)
    return reg


def _as_caller(reg: Registry, principal: Principal) -> Registry:
    """A view of ``reg`` (same engine) whose audit rows name the caller."""
    from omscds.storage import Registry as _Registry

    return _Registry(
        reg.engine,
        reg.kb,
        f"api:{principal.subject}",
        allow_identifiers=reg.allow_identifiers,
        busy_timeout_s=reg.busy_timeout_s,
    )


def _registry_for(*roles: str) -> Callable[..., Registry]:
    def dependency(request: Request, principal: Principal = Depends(require(*roles))) -> Registry:
        return _as_caller(open_app_registry(request, "registry", create=True), principal)

    return dependency


get_registry = _registry_for(CLINICIAN)
_writer = _registry_for(REGISTRAR)
_auditor = _registry_for(AUDITOR)
_admin = _registry_for(ADMIN)


def _run(fn: Callable[[], Any], status: int = 200) -> Any:
    result = fn()  # errors go to the one table
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


@router.get("/patients", responses=_AUTH)
def list_patients(
    limit: int = Limit, offset: int = Offset, reg: Registry = Depends(get_registry)
) -> Any:
    """Patients by key, with visit counts (paginated)."""
    return _run(lambda: _page(reg.list_patients(limit, offset)))


@router.post("/patients", status_code=201, responses=_AUTH)
def add_patient(body: PatientIn, reg: Registry = Depends(_writer)) -> Any:
    def go() -> dict[str, Any]:
        reg.add_patient(body.key, body.external_ids)
        return {"key": body.key}

    return _run(go, 201)


@router.get("/patients/{key}", responses=_AUTH)
def show_patient(key: str, reg: Registry = Depends(get_registry)) -> Any:
    """The patient's history (every visit, course, relapse) and the latest assessment."""
    return _run(lambda: _plain(reg.history(key)))


@router.get("/patients/{key}/visits", responses=_AUTH)
def list_visits(
    key: str, limit: int = Limit, offset: int = Offset, reg: Registry = Depends(get_registry)
) -> Any:
    return _run(lambda: _page(reg.visits(key, limit, offset)))


@router.post("/patients/{key}/visits", status_code=201, responses=_AUTH)
def add_visit(key: str, body: VisitIn, reg: Registry = Depends(_writer)) -> Any:
    """Validate and store a visit; by default assess it with the patient's history."""

    def go() -> dict[str, Any]:
        rec = reg.add_visit(key, body.case, body.date, assess_now=body.assess)
        latest = reg.history(key).latest_assessment
        out: dict[str, Any] = {"visit": _plain(rec), "assessment": None}
        if latest is not None and latest.visit_uid == rec.uid:
            out["assessment"] = _plain(latest)
        return out

    return _run(go, 201)


@router.post("/patients/{key}/treatments", status_code=201, responses=_AUTH)
def add_treatment(key: str, body: TreatmentIn, reg: Registry = Depends(_writer)) -> Any:
    return _run(
        lambda: {
            "uid": reg.add_treatment(key, body.agent, body.start, body.stop, body.dose, body.note)
        },
        201,
    )


@router.post("/patients/{key}/relapses", status_code=201, responses=_AUTH)
def add_relapse(key: str, body: RelapseIn, reg: Registry = Depends(_writer)) -> Any:
    return _run(lambda: {"uid": reg.add_relapse(key, body.date, body.note)}, 201)


@router.get("/patients/{key}/timeline", responses=_AUTH)
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


@router.get("/audit", responses=_AUTH)
def audit(limit: int = Limit, offset: int = Offset, reg: Registry = Depends(_auditor)) -> Any:
    """The append-only audit log (oldest first)."""
    return _run(lambda: _page(reg.audit(limit, offset)))


@router.get("/export", responses=_AUTH)
def export(
    format: Literal["jsonl", "fhir"] = "jsonl",
    reg: Registry = Depends(_admin),
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


@router.post(
    "/import",
    responses=_AUTH,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/fhir+json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def import_(request: Request, reg: Registry = Depends(_admin)) -> Any:
    """Import an export: JSON lines, or a FHIR Bundle (``application/fhir+json`` or JSON).
    Every assessment is recomputed, never taken as given."""
    from starlette.concurrency import run_in_threadpool

    from omscds.interop.fhir.registry import bundle_to_records
    from omscds.storage.exchange import import_records, read_jsonl

    raw = (await request.body()).decode("utf-8", errors="replace")
    kind = request.headers.get("content-type", "")

    def go() -> dict[str, Any]:
        if "json" in kind and "ndjson" not in kind:
            try:
                doc = loads_json(raw)  # depth, duplicates, NaN, huge integers: 400
            except InputError as exc:
                raise BodyError(exc.message, path=exc.path or "body", errors=exc.errors) from None
            records = bundle_to_records(doc)
        else:
            records = read_jsonl(raw.splitlines())
        summary = import_records(reg, records)
        return {"added": summary.added, "skipped": summary.skipped}

    return await run_in_threadpool(_run, go)
