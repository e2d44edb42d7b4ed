"""The web page's routes (mounted by ``create_app``): case entry, assessment, what-if, PDF, static.

Every page needs the clinician role (``interfaces.api.auth``); every form carries the session's
CSRF token. Handlers read the form on the event loop and do the work elsewhere: assessing in a
worker thread, PDFs in the bounded process pool (503 with ``Retry-After`` when it is full). Bad
input re-renders the form with messages beside the fields (HTTP 422), never a traceback.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from omscds.errors import InputError
from omscds.interfaces.api.auth import CLINICIAN, csrf_token, require
from omscds.interfaces.api.deps import latest_today
from omscds.interfaces.api.guards import StrictJsonRoute
from omscds.interfaces.api.problems import BodyError
from omscds.interfaces.api.work import PdfPool
from omscds.interfaces.service import assess_source
from omscds.interfaces.web.examples import example_names, load_example
from omscds.interfaces.web.forms import CaseForm
from omscds.interfaces.web.i18n import get_translations, negotiate
from omscds.interfaces.web.registry import registry_configured, registry_router
from omscds.interfaces.web.render import (
    assessment_vars,
    case_line,
    form_vars,
    render_page,
    share_link,
)
from omscds.interfaces.web.static_files import static_path
from omscds.interfaces.web.whatif import Hypothetical, hypothetical_case, hypothetical_of
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment
from omscds.model.strict import loads_json

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=StrictJsonRoute)
_clinician = [Depends(require(CLINICIAN))]


async def _kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


def _lang(request: Request) -> str:
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


async def _fields(request: Request) -> dict[str, list[str]]:
    try:
        form = await request.form()
    except Exception:  # python-multipart refuses the body
        raise BodyError("the form cannot be read") from None
    return {k: [str(v) for v in form.getlist(k)] for k in form}


def _assess(case: dict[str, Any], kb: KnowledgeBase) -> Assessment:
    return assess_source("case", case, kb, today=latest_today()).assessment


def _page(
    request: Request,
    kb: KnowledgeBase,
    form: CaseForm,
    *,
    case: dict[str, Any] | None = None,
    a: Assessment | None = None,
    errors: tuple[tuple[str, str], ...] = (),
    banner: str | None = None,
    hypothetical: Hypothetical | None = None,
    example: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    lang = _lang(request)
    ctx: dict[str, Any] = {"a": None, "banner": banner, "kb": kb,
                           "registry": registry_configured(request),
                           "csrf": csrf_token(request), "result_view": "actual"}  # fmt: skip
    if a is not None and case is not None:
        ctx.update(assessment_vars(a, kb, lang, case, csrf=ctx["csrf"], hypothetical=hypothetical))
    ctx.update(form_vars(form, kb, errors, lang=lang, example=example))
    ctx["case_line"] = case_line(case, lang) if a is not None and case is not None else ""
    ctx["share_link"] = share_link(case) if a is not None and case is not None else ""
    ctx["example_edited"] = example is not None and _edited(example, form, kb)
    return HTMLResponse(render_page("index.html.j2", lang, **ctx), status_code=status)


def _edited(example: str, form: CaseForm, kb: KnowledgeBase) -> bool:
    """Whether the form differs from the example it was loaded from."""
    try:
        shipped = CaseForm.from_case(load_example(example), kb).to_case()[0]
    except InputError:
        return True
    return form.to_case()[0] != shipped


def _loaded_example(fields: dict[str, list[str]]) -> str | None:
    """The example the posted form was loaded from (a hidden field), if it is a shipped one."""
    name = (fields.get("example") or [""])[0]
    return name if name in example_names() else None


def _case_from_json(text: str) -> dict[str, Any]:
    try:
        case = loads_json(text)  # duplicates, NaN, 10^5-deep nesting, huge numbers: refused
    except InputError as exc:
        where = f" ({exc.path})" if exc.path else ""
        raise InputError(
            f"the case sent with the form is not JSON omscds accepts{where}: {exc.message}",
            path="case_json",
        ) from None
    if not isinstance(case, dict):
        raise InputError("the case sent with the form is not a JSON object", path="case_json")
    return case


@router.get("/", response_class=HTMLResponse, dependencies=_clinician)
def index(
    request: Request, example: str | None = None, kb: KnowledgeBase = Depends(_kb)
) -> Response:
    """The blank case form, or an example case loaded into it (``?example=NAME``)."""
    if example:
        try:
            data = load_example(example)
        except InputError as exc:
            return _page(request, kb, CaseForm(), errors=exc.errors, status=404)
        return _page(request, kb, CaseForm.from_case(data, kb), example=example)
    return _page(request, kb, CaseForm())


@router.post("/assess", response_class=HTMLResponse, dependencies=_clinician)
async def assess_form(request: Request, kb: KnowledgeBase = Depends(_kb)) -> Response:
    """Assess the posted form (or a ``case_json`` field); errors go back beside the fields."""
    fields = await _fields(request)
    return await run_in_threadpool(_assess_page, request, kb, fields)


def _assess_page(request: Request, kb: KnowledgeBase, fields: dict[str, list[str]]) -> Response:
    if "case_json" in fields and "age_months" not in fields:
        try:
            case = _case_from_json(fields["case_json"][0])
        except InputError as exc:
            return _page(request, kb, CaseForm(), errors=exc.errors, status=422)
        form = CaseForm.from_case(case, kb)
        errors: list[tuple[str, str]] = []
    else:
        form = CaseForm.from_fields(fields, kb)
        case, errors = form.to_case()
    example = _loaded_example(fields)
    if errors:
        return _page(request, kb, form, errors=tuple(errors), example=example, status=422)
    try:
        a = _assess(case, kb)
    except InputError as exc:
        return _page(request, kb, form, errors=exc.errors, example=example, status=422)
    return _page(request, kb, form, case=case, a=a, example=example)


def _whatif_banner(request: Request, kb: KnowledgeBase, study: str, result: str) -> str:
    tr = get_translations(_lang(request)).gettext
    return tr("What if: %(study)s were %(result)s (hypothetical; not ordered, not in the case)") % {
        "study": study,
        "result": tr(result),
    }


@router.post("/whatif", response_class=HTMLResponse, dependencies=_clinician)
async def whatif_page(request: Request, kb: KnowledgeBase = Depends(_kb)) -> Response:
    """The what-if without JavaScript: the page re-rendered with the hypothetical study."""
    fields = await _fields(request)
    return await run_in_threadpool(_whatif_page, request, kb, fields)


def _whatif_page(request: Request, kb: KnowledgeBase, fields: dict[str, list[str]]) -> Response:
    try:
        case = _case_from_json((fields.get("case_json") or [""])[0])
        index = (fields.get("whatif") or [""])[0]
        result = (fields.get("whatif_result") or [""])[0]
        actual = _assess(case, kb)
        hypo_case, study = hypothetical_case(case, actual, index, result, kb)
        hypo = _assess(hypo_case, kb)
    except InputError as exc:
        return _page(request, kb, CaseForm(), errors=exc.errors, status=422)
    return _page(
        request,
        kb,
        CaseForm.from_case(case, kb),
        case=case,
        a=hypo,
        banner=_whatif_banner(request, kb, study, result),
        hypothetical=hypothetical_of(case, hypo_case, study),
    )


@router.post("/api/whatif", dependencies=_clinician)
async def whatif_json(request: Request, kb: KnowledgeBase = Depends(_kb)) -> JSONResponse:
    """JSON what-if: ``{"case": {...}, "next_test": 0, "result": "negative"}`` -> the
    hypothetical probability, interval, regions, plan and the re-rendered assessment."""
    try:
        body = loads_json(await request.body())
    except InputError as exc:
        raise BodyError(exc.message, path=exc.path, errors=exc.errors) from None
    return await run_in_threadpool(_whatif_json, request, kb, body)


def _whatif_json(request: Request, kb: KnowledgeBase, body: Any) -> JSONResponse:
    try:
        if not isinstance(body, dict):
            raise InputError("the request body must be a JSON object")
        case = body.get("case")
        if not isinstance(case, dict):
            raise InputError("a case object is required", path="case")
        actual = _assess(case, kb)
        hypo_case, study = hypothetical_case(
            case, actual, str(body.get("next_test", "")), str(body.get("result", "")), kb
        )
        hypo = _assess(hypo_case, kb)
    except InputError:
        raise  # the error table: 422 problem+json naming the field
    lang = _lang(request)
    label = hypothetical_of(case, hypo_case, study)
    ctx = assessment_vars(hypo, kb, lang, case, csrf=csrf_token(request), hypothetical=label)
    html = render_page("_assessment.html.j2", lang, **ctx)
    t = hypo.tumour
    return JSONResponse(
        {
            "banner": _whatif_banner(request, kb, study, str(body.get("result"))),
            "hypothetical": {"study": label.study, "result": label.result, "test": label.test},
            "before": {"probability": actual.tumour.probability, "status": actual.tumour.status},
            "probability": t.probability,
            "interval": list(t.interval),
            "status": t.status,
            "searched_regions": t.searched_regions,
            "recommendations": [
                {"id": r.id, "title": r.title, "urgency": r.urgency, "regions": list(r.regions)}
                for r in hypo.recommendations
            ],
            "html": html,
        }
    )


def _filename(case: dict[str, Any]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(case.get("case_id") or "case")).strip("-")
    return f"omscds-report-{stem or 'case'}.pdf"


@router.post("/report.pdf", dependencies=_clinician)
async def report_pdf(request: Request, kb: KnowledgeBase = Depends(_kb)) -> Response:
    """The printable report of the posted case as a PDF download (503 when the pool is full)."""
    fields = await _fields(request)

    def prepare() -> tuple[dict[str, Any], Assessment] | Response:
        try:
            case = _case_from_json((fields.get("case_json") or [""])[0])
            return case, _assess(case, kb)
        except InputError as exc:
            return _page(request, kb, CaseForm(), errors=exc.errors, status=422)

    got = await run_in_threadpool(prepare)
    if isinstance(got, Response):
        return got
    case, a = got
    pool: PdfPool = request.app.state.pdf_pool
    pdf = await pool.render(a.model_dump_json(), _lang(request), json.dumps(case))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(case)}"'},
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    """The page's own CSS and JavaScript (no CDN)."""
    path = static_path(name)
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


router.include_router(registry_router)
