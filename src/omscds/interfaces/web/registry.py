"""Registry pages, shown when a registry is configured (``OMSCDS_DATABASE_URL``): the patient
list, a patient's timeline (severity chart with treatment bands, visits) and adding a visit
from the case on the assessment page. They call ``omscds.storage`` and render; nothing more."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from omscds.errors import OmscdsError
from omscds.interfaces.web.i18n import negotiate
from omscds.interfaces.web.render import render_page
from omscds.knowledge import KnowledgeBase
from omscds.reports.charts import SeverityPoint, TreatmentBand, severity_chart_svg
from omscds.storage import ENV_VAR, Registry, open_registry

__all__ = ["registry_configured", "registry_router"]

registry_router = APIRouter(include_in_schema=False)
_lock = threading.Lock()


def registry_configured() -> bool:
    return bool(os.environ.get(ENV_VAR))


def _registry(request: Request) -> Registry:
    """The registry of this app, opened once (the schema must be initialised already)."""
    with _lock:
        reg: Registry | None = getattr(request.app.state, "web_registry", None)
        if reg is None:
            kb: KnowledgeBase = request.app.state.kb
            reg = open_registry(os.environ.get(ENV_VAR), kb, actor="web")
            request.app.state.web_registry = reg
        return reg


def _lang(request: Request) -> str:
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


def _render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    kb = request.app.state.kb
    html = render_page(name, _lang(request), kb=kb, registry=True, **ctx)
    return HTMLResponse(html, status_code=status)


def _problem(request: Request, exc: OmscdsError, status: int) -> HTMLResponse:
    return _render(request, "registry_error.html.j2", status, message=str(exc))


@registry_router.get("/registry", response_class=HTMLResponse)
def patients(request: Request, offset: int = 0) -> Response:
    if not registry_configured():
        return Response("no registry configured", status_code=404, media_type="text/plain")
    try:
        page = _registry(request).list_patients(limit=50, offset=max(offset, 0))
    except OmscdsError as exc:
        return _problem(request, exc, 503)
    return _render(request, "registry_patients.html.j2", page=page)


@registry_router.get("/registry/patients/{key}", response_class=HTMLResponse)
def timeline(request: Request, key: str) -> Response:
    if not registry_configured():
        return Response("no registry configured", status_code=404, media_type="text/plain")
    kb: KnowledgeBase = request.app.state.kb
    try:
        reg = _registry(request)
        if not reg.has_patient(key):
            return _render(request, "registry_error.html.j2", 404, message=f"no patient {key!r}")
        data = reg.timeline(key)
        visits = reg.visits(key, limit=200)
    except OmscdsError as exc:
        return _problem(request, exc, 422)
    top = max((s.total_max for s in kb.severity_scales.values()), default=0)
    points = [SeverityPoint(d, total, top) for d, total in data.points if total is not None]
    bands = [TreatmentBand(start, stop, agent) for agent, start, stop in data.treatments]
    bands += [TreatmentBand(d, d, "relapse") for d in data.relapses]
    chart = severity_chart_svg(points, bands, id_prefix="sev")
    cases = {v.uid: json.dumps(v.case, ensure_ascii=False, sort_keys=True) for v in visits.items}
    return _render(
        request, "registry_timeline.html.j2", key=key, chart=chart, visits=visits, cases=cases
    )


@registry_router.post("/registry/visits")
async def add_visit(request: Request) -> Response:
    """Save the case behind the assessment page as a visit of a patient (created if new)."""
    if not registry_configured():
        return Response("no registry configured", status_code=404, media_type="text/plain")
    form = await request.form()
    key = str(form.get("patient") or "").strip()
    date = str(form.get("visit_date") or "").strip() or None
    try:
        case = json.loads(str(form.get("case_json") or ""))
    except ValueError:
        return _render(request, "registry_error.html.j2", 422, message="the case is not JSON")
    try:
        reg = _registry(request)
        if not reg.has_patient(key):
            reg.add_patient(key)
        reg.add_visit(key, case, date)
    except OmscdsError as exc:
        return _problem(request, exc, 422)
    return RedirectResponse(f"/registry/patients/{key}", status_code=303)
