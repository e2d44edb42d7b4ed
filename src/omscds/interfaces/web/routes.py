"""The web page's routes (mounted by ``create_app``): case entry, assessment, what-if, PDF, static.

Every handler is a plain ``def`` (FastAPI runs it in a worker thread): assessment and PDF
rendering are CPU work. Bad input re-renders the form with messages beside the fields (HTTP
422), never a traceback.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from omscds.errors import InputError, OmscdsError
from omscds.interfaces.web.examples import load_example
from omscds.interfaces.web.forms import CaseForm
from omscds.interfaces.web.i18n import get_translations, negotiate
from omscds.interfaces.web.registry import registry_configured, registry_router
from omscds.interfaces.web.render import assessment_vars, form_vars, render_page
from omscds.interfaces.web.static_files import static_path
from omscds.interfaces.web.whatif import hypothetical_case
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, parse_case
from omscds.reasoning import assess
from omscds.reports.pdf import render_report_pdf

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


def _lang(request: Request) -> str:
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


async def _fields(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [str(v) for v in form.getlist(k)] for k in form}


def _assess(case: dict[str, Any], kb: KnowledgeBase) -> Assessment:
    return assess(parse_case(case), kb)


def _page(
    request: Request,
    kb: KnowledgeBase,
    form: CaseForm,
    *,
    case: dict[str, Any] | None = None,
    a: Assessment | None = None,
    errors: tuple[tuple[str, str], ...] = (),
    banner: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    lang = _lang(request)
    ctx: dict[str, Any] = {"a": None, "banner": banner, "kb": kb, "registry": registry_configured()}
    if a is not None and case is not None:
        ctx.update(assessment_vars(a, kb, lang, case))
    ctx.update(form_vars(form, kb, errors))
    return HTMLResponse(render_page("index.html.j2", lang, **ctx), status_code=status)


def _case_from_json(text: str) -> dict[str, Any]:
    try:
        case = json.loads(text)
    except ValueError:
        raise InputError("the case sent with the form is not JSON", path="case_json") from None
    if not isinstance(case, dict):
        raise InputError("the case sent with the form is not a JSON object", path="case_json")
    return case


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request, example: str | None = None, kb: KnowledgeBase = Depends(_kb)
) -> Response:
    """The blank case form, or an example case loaded into it (``?example=NAME``)."""
    if example:
        try:
            data = load_example(example)
        except InputError as exc:
            return _page(request, kb, CaseForm(), errors=exc.errors, status=404)
        return _page(request, kb, CaseForm.from_case(data, kb))
    return _page(request, kb, CaseForm())


@router.post("/assess", response_class=HTMLResponse)
async def assess_form(request: Request, kb: KnowledgeBase = Depends(_kb)) -> Response:
    """Assess the posted form (or a ``case_json`` field); errors go back beside the fields."""
    fields = await _fields(request)
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
    if errors:
        return _page(request, kb, form, errors=tuple(errors), status=422)
    try:
        a = _assess(case, kb)
    except InputError as exc:
        return _page(request, kb, form, errors=exc.errors, status=422)
    return _page(request, kb, form, case=case, a=a)


def _whatif_banner(request: Request, kb: KnowledgeBase, study: str, result: str) -> str:
    tr = get_translations(_lang(request)).gettext
    return tr("What if: %(study)s were %(result)s (hypothetical; not ordered, not in the case)") % {
        "study": study,
        "result": tr(result),
    }


@router.post("/whatif", response_class=HTMLResponse)
async def whatif_page(request: Request, kb: KnowledgeBase = Depends(_kb)) -> Response:
    """The what-if without JavaScript: the page re-rendered with the hypothetical study."""
    fields = await _fields(request)
    try:
        case = _case_from_json((fields.get("case_json") or [""])[0])
        index = (fields.get("whatif") or [""])[0]
        result = (fields.get("whatif_result") or [""])[0]
        actual = _assess(case, kb)
        hypo_case, study = hypothetical_case(case, actual, index, result, kb)
        hypo = _assess(hypo_case, kb)
    except InputError as exc:
        return _page(request, kb, CaseForm(), errors=exc.errors, status=422)
    response = _page(
        request,
        kb,
        CaseForm.from_case(case, kb),
        case=case,
        a=hypo,
        banner=_whatif_banner(request, kb, study, result),
    )
    return response


@router.post("/api/whatif")
async def whatif_json(request: Request, kb: KnowledgeBase = Depends(_kb)) -> JSONResponse:
    """JSON what-if: ``{"case": {...}, "next_test": 0, "result": "negative"}`` -> the
    hypothetical probability, interval, regions, plan and the re-rendered assessment."""
    try:
        try:
            body = await request.json()
        except ValueError:
            raise InputError("the request body is not JSON") from None
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
    except InputError as exc:
        return JSONResponse(
            {
                "title": "invalid input",
                "detail": str(exc),
                "errors": [{"path": p, "message": m} for p, m in exc.errors],
            },
            status_code=422,
        )
    lang = _lang(request)
    ctx = assessment_vars(hypo, kb, lang, case)
    html = render_page("_assessment.html.j2", lang, **ctx)
    t = hypo.tumour
    return JSONResponse(
        {
            "banner": _whatif_banner(request, kb, study, str(body.get("result"))),
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


@router.post("/report.pdf")
async def report_pdf(request: Request, kb: KnowledgeBase = Depends(_kb)) -> Response:
    """The printable report of the posted case as a PDF download."""
    fields = await _fields(request)
    try:
        case = _case_from_json((fields.get("case_json") or [""])[0])
        a = _assess(case, kb)
    except InputError as exc:
        return _page(request, kb, CaseForm(), errors=exc.errors, status=422)
    lang = _lang(request)
    try:
        pdf = render_report_pdf(a, kb, translations=get_translations(lang), lang=lang)
    except OmscdsError as exc:
        return Response(str(exc), status_code=500, media_type="text/plain")
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
