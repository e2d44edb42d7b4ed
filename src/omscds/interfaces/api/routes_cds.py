"""CDS Hooks 2.0: discovery, service calls and feedback, each behind client-JWT verification."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from omscds.errors import InputError, InteropError, NotFoundError, format_path
from omscds.interfaces.api.deps import get_kb, get_settings
from omscds.interfaces.api.settings import Settings
from omscds.interop.cdshooks import (
    SERVICES,
    CdsRequest,
    FeedbackRequest,
    FeedbackStore,
    JwtVerifier,
    PrefetchError,
    discovery,
    run_hook,
)
from omscds.interop.fhir import operation_outcome
from omscds.knowledge import KnowledgeBase
from omscds.model.strict import loads_json

__all__ = ["router"]

log = logging.getLogger("omscds.cds")
router = APIRouter(tags=["cds-hooks"])
_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_ERR: dict[str, Any] = {"content": {"application/json": {}}}


async def authenticate(request: Request) -> dict[str, Any] | None:
    """Verify the client JWT for this exact endpoint, unless ``--insecure-dev`` is on."""
    settings: Settings = request.app.state.settings
    if settings.insecure_dev:
        return None
    verifier: JwtVerifier = request.app.state.jwt_verifier
    bases = [settings.public_base_url, *(u.rstrip("/") for u in settings.public_base_urls)]
    audience = [base + request.url.path for base in bases]
    claims = await verifier.verify(request.headers.get("authorization"), audience)
    log.info("cds client iss=%s jti=%s", claims.get("iss"), claims.get("jti"))
    return claims


def _outcome(status: int, path: str, msg: str, code: str = "invalid") -> JSONResponse:
    return JSONResponse(operation_outcome([(path, msg)], code=code), status_code=status)


async def _body(request: Request) -> Any:
    return loads_json(await request.body())  # InputError (400) on anything ambiguous


def _pydantic_error(exc: ValidationError) -> InputError:
    errors = [
        (format_path([p for p in e["loc"] if isinstance(p, str | int)]), e["msg"])
        for e in exc.errors()
    ]
    return InputError(errors[0][1], path=errors[0][0], errors=errors)


@router.get("/cds-services", dependencies=[Depends(authenticate)])
def cds_discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the services this server offers."""
    return discovery().wire()


_Body = TypeVar("_Body", CdsRequest, FeedbackRequest)


async def _parse(service_id: str, request: Request, model: type[_Body]) -> _Body | JSONResponse:
    """The request body as ``model``, or the OperationOutcome response (404 / 400) to send."""
    if service_id not in SERVICES:
        return _outcome(404, "service_id", f"no CDS service {service_id!r}", code="not-found")
    try:
        return model.model_validate(await _body(request))
    except ValidationError as exc:
        err = _pydantic_error(exc)
        return _outcome(400, err.path or "", err.message)
    except InputError as exc:
        return _outcome(400, exc.path or "", exc.message)


@router.post(
    "/cds-services/{service_id}",
    openapi_extra=_JSON_BODY,
    responses={400: _ERR, 404: _ERR, 412: _ERR, 422: _ERR},
)
async def cds_call(
    service_id: str,
    request: Request,
    kb: KnowledgeBase = Depends(get_kb),
    settings: Settings = Depends(get_settings),
    claims: dict[str, Any] | None = Depends(authenticate),
) -> JSONResponse:
    """Run one hook; 412 with an OperationOutcome when prefetch is missing and not fetchable."""
    req = await _parse(service_id, request, CdsRequest)
    if isinstance(req, JSONResponse):
        return req
    try:
        response = await run_hook(
            service_id,
            req,
            kb,
            today=dt.datetime.now(dt.UTC).date(),
            fetch_timeout=settings.fhir_fetch_timeout_s,
            app_url=settings.public_base_url + "/",
            transport=getattr(request.app.state, "fhir_transport", None),
            issued=request.app.state.feedback,
            fhir_servers=request.app.state.fhir_servers,
            issuer=claims.get("iss") if claims else None,
        )
    except PrefetchError as exc:
        return _outcome(412, exc.path or "", exc.message, code="incomplete")
    except InputError as exc:
        return _outcome(422, exc.path or "", exc.message)
    except InteropError as exc:
        return _outcome(422, exc.path or "", exc.message, code="structure")
    return JSONResponse(response.wire())


@router.post(
    "/cds-services/{service_id}/feedback",
    dependencies=[Depends(authenticate)],
    openapi_extra=_JSON_BODY,
    responses={400: _ERR, 404: _ERR},
)
async def cds_feedback(service_id: str, request: Request) -> JSONResponse:
    """Record accepted/overridden outcomes for cards this service returned."""
    fb = await _parse(service_id, request, FeedbackRequest)
    if isinstance(fb, JSONResponse):
        return fb
    store: FeedbackStore = request.app.state.feedback
    try:
        n = store.record(service_id, fb.feedback)
    except NotFoundError as exc:  # feedback only for cards this service issued
        return _outcome(404, exc.path or "", exc.message, code="not-found")
    return JSONResponse({"recorded": n})
