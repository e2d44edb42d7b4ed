"""Registry pages, shown when the app's settings name a registry (``OMSCDS_DATABASE_URL``, read
by the one settings class): the patient list, a patient's timeline (severity chart with
treatment bands, visits) and adding a visit from the case on the assessment page. They call
``omscds.storage`` and render; nothing more."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from omscds.errors import InputError, OmscdsError, StorageError
from omscds.interfaces.api.auth import CLINICIAN, REGISTRAR, Principal, csrf_token, require
from omscds.interfaces.api.registry_routes import open_app_registry
from omscds.interfaces.api.settings import Settings
from omscds.interfaces.timeline import patient_timeline_svg
from omscds.interfaces.web.i18n import get_translations, negotiate
from omscds.interfaces.web.render import render_page
from omscds.knowledge import KnowledgeBase
from omscds.model.strict import loads_json
from omscds.storage import Registry, advice_changes

__all__ = ["registry_configured", "registry_router"]

registry_router = APIRouter(include_in_schema=False)


def registry_configured(request: Request) -> bool:
    """Whether this app has a registry: its settings' ``database_url``, never the process
    environment read again (an app built with its own settings shows its own registry)."""
    settings: Settings = request.app.state.settings
    return bool(settings.database_url)


def _registry(request: Request, principal: Principal | None = None) -> Registry:
    """The registry of this app, opened once (the schema must be initialised already); with
    ``principal``, a view whose audit rows name the caller."""
    reg = open_app_registry(request, "web_registry", create=False)
    if principal is None:
        return reg
    return Registry(reg.engine, reg.kb, f"web:{principal.subject}",
                    allow_identifiers=reg.allow_identifiers,
                    busy_timeout_s=reg.busy_timeout_s)  # fmt: skip


def _lang(request: Request) -> str:
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


def _render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    kb = request.app.state.kb
    html = render_page(name, _lang(request), kb=kb, registry=True, csrf=csrf_token(request), **ctx)
    return HTMLResponse(html, status_code=status)


def _problem(request: Request, exc: OmscdsError) -> HTMLResponse:
    """The error page, with the status of the one error table (a busy registry: 503)."""
    from omscds.interfaces.api.problems import lookup

    row = lookup(exc)
    headers = {"Retry-After": "5"} if isinstance(exc, StorageError) else None
    page = _render(request, "registry_error.html.j2", row.status, message=str(exc))
    if headers:
        page.headers.update(headers)
    return page


_clinician = [Depends(require(CLINICIAN))]


@registry_router.get("/registry", response_class=HTMLResponse, dependencies=_clinician)
def patients(request: Request, offset: int = Query(0, ge=0, le=2**62)) -> Response:
    if not registry_configured(request):
        return Response("no registry configured", status_code=404, media_type="text/plain")
    try:
        page = _registry(request).list_patients(limit=50, offset=offset)
    except OmscdsError as exc:
        return _problem(request, exc)
    return _render(request, "registry_patients.html.j2", page=page)


@registry_router.get("/registry/changes", response_class=HTMLResponse, dependencies=_clinician)
def changes(request: Request, offset: int = Query(0, ge=0, le=2**62)) -> Response:
    """The patients whose advice changed under this knowledge base (``registry reassess``)."""
    if not registry_configured(request):
        return Response("no registry configured", status_code=404, media_type="text/plain")
    try:
        page = advice_changes(_registry(request), limit=50, offset=offset)
    except OmscdsError as exc:
        return _problem(request, exc)
    kb: KnowledgeBase = request.app.state.kb
    return _render(request, "registry_changes.html.j2", page=page, kb_version=kb.version)


@registry_router.get(
    "/registry/patients/{key}", response_class=HTMLResponse, dependencies=_clinician
)
def timeline(request: Request, key: str) -> Response:
    if not registry_configured(request):
        return Response("no registry configured", status_code=404, media_type="text/plain")
    kb: KnowledgeBase = request.app.state.kb
    try:
        reg = _registry(request)
        if not reg.has_patient(key):
            return _render(request, "registry_error.html.j2", 404, message=f"no patient {key!r}")
        data = reg.timeline(key)
        visits = reg.visits(key, limit=200)
    except OmscdsError as exc:
        return _problem(request, exc)
    tr = get_translations(_lang(request)).gettext
    chart = patient_timeline_svg(data, kb, tr("Severity over time"), tr=tr, id_prefix="sev")
    cases = {v.uid: json.dumps(v.case, ensure_ascii=False, sort_keys=True) for v in visits.items}
    return _render(
        request, "registry_timeline.html.j2", key=key, chart=chart, visits=visits, cases=cases
    )


@registry_router.post("/registry/visits")
async def add_visit(
    request: Request, principal: Principal = Depends(require(REGISTRAR))
) -> Response:
    """Save the case behind the assessment page as a visit of a patient (created if new)."""
    if not registry_configured(request):
        return Response("no registry configured", status_code=404, media_type="text/plain")
    form = await request.form()
    key = str(form.get("patient") or "").strip()
    date = str(form.get("visit_date") or "").strip() or None
    text = str(form.get("case_json") or "")

    def save() -> Response:
        try:
            case = loads_json(text)
            reg = _registry(request, principal)
            if not reg.has_patient(key):
                reg.add_patient(key)
            reg.add_visit(key, case, date)
        except InputError as exc:
            return _problem(request, InputError(f"the visit was not saved: {exc}"))
        except OmscdsError as exc:
            return _problem(request, exc)
        return RedirectResponse(f"/registry/patients/{quote(key, safe='')}", status_code=303)

    return await run_in_threadpool(save)
