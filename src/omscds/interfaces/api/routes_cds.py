"""CDS Hooks 2.0: discovery, service calls and feedback, each behind client-JWT verification.

Errors are OperationOutcomes from the one error table (credential failures: problem+json
401). A hook call whose body is at most ``OMSCDS_HOOK_INLINE_BYTES`` runs on the event loop
(its reads of a FHIR server are awaited, so a slow server stalls nobody, and its CPU part is
about a millisecond); a larger one runs in a worker thread with its own event loop, so that
reading a large prefetch never stalls other requests. Handing every call to a thread cost about
1 ms of CPU per call in switching (5.1 -> 4.0 ms per call on one worker, ``bench/service.py``).

``floor_router`` (mounted only with ``OMSCDS_BENCH_FLOOR``, for ``bench/service.py``) answers
``/bench/floor/{service_id}`` with the same JWT check and body parse and no cards: the floor
the hook's cost is measured against.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from omscds.errors import InputError, NotFoundError
from omscds.interfaces.api.deps import get_kb, get_settings
from omscds.interfaces.api.problems import BodyError, pydantic_input_error
from omscds.interfaces.api.settings import Settings
from omscds.interfaces.service import run_hook
from omscds.interop.cdshooks import (
    SERVICES,
    CdsRequest,
    CdsResponse,
    FeedbackRequest,
    FeedbackStore,
    JwtVerifier,
    discovery,
)
from omscds.knowledge import KnowledgeBase
from omscds.model.strict import loads_json

__all__ = ["authenticate", "floor_router", "router"]

log = logging.getLogger("omscds.cds")
router = APIRouter(tags=["cds-hooks"])
floor_router = APIRouter(include_in_schema=False)
_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_ERR: dict[str, Any] = {"content": {"application/json": {}}}
_T = TypeVar("_T")
_thread = threading.local()


def _hook_limiter(request: Request) -> anyio.CapacityLimiter:
    """At most ``OMSCDS_HOOK_THREADS`` hooks at once per worker: the hook is CPU-bound under
    one interpreter lock, so more threads only add switching (the rest wait their turn); a few
    are kept so that hooks waiting on a FHIR server do not hold up the others."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "hook_limiter", None)
    if limiter is None:
        settings: Settings = request.app.state.settings
        limiter = anyio.CapacityLimiter(settings.hook_threads)
        request.app.state.hook_limiter = limiter
    return limiter


class _ThreadLoop:
    """A worker thread's own event loop, closed when the thread ends (the pool stops idle
    threads; their ``threading.local`` goes with them, and so do the loop's descriptors)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        self.loop.close()


def _run_here(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` on this worker thread's own event loop, made once per thread: a fresh
    ``asyncio.run`` loop per call cost about 0.3 ms of the hook's CPU."""
    held: _ThreadLoop | None = getattr(_thread, "held", None)
    if held is None or held.loop.is_closed():
        held = _thread.held = _ThreadLoop()
    return held.loop.run_until_complete(coro)


async def authenticate(request: Request) -> dict[str, Any] | None:
    """Verify the client JWT for this exact endpoint, unless ``--insecure-dev`` is on."""
    settings: Settings = request.app.state.settings
    if settings.insecure_dev:
        return None
    verifier: JwtVerifier = request.app.state.jwt_verifier
    bases = [settings.public_base_url, *(u.rstrip("/") for u in settings.public_base_urls)]
    audience = [base + request.url.path for base in bases]
    claims = await verifier.verify(request.headers.get("authorization"), audience)
    request.state.log_auth = {"iss": claims.get("iss"), "jti": claims.get("jti"), "via": "cds"}
    return claims


@router.get("/cds-services", dependencies=[Depends(authenticate)])
async def cds_discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the services this server offers."""
    return discovery().wire()


_Body = TypeVar("_Body", CdsRequest, FeedbackRequest)


async def _parse(service_id: str, request: Request, model: type[_Body]) -> _Body:
    """The request body as ``model``: NotFoundError (404) or BodyError (400) otherwise."""
    if service_id not in SERVICES:
        raise NotFoundError(f"no CDS service {service_id!r}", path="service_id")
    try:
        return model.model_validate(loads_json(await request.body()))
    except ValidationError as exc:
        raise pydantic_input_error(exc, BodyError) from None
    except InputError as exc:
        raise BodyError(exc.message, path=exc.path, errors=exc.errors) from None


@router.post(
    "/cds-services/{service_id}",
    openapi_extra=_JSON_BODY,
    responses={400: _ERR, 401: {}, 404: _ERR, 412: _ERR, 422: _ERR},
)
async def cds_call(
    service_id: str,
    request: Request,
    kb: KnowledgeBase = Depends(get_kb),
    settings: Settings = Depends(get_settings),
    claims: dict[str, Any] | None = Depends(authenticate),
) -> Response:
    """Run one hook; 412 with an OperationOutcome when prefetch is missing and not fetchable."""
    t0 = time.perf_counter()
    req = await _parse(service_id, request, CdsRequest)
    size = len(await request.body())  # the body _parse read, kept by starlette: no second read

    def hook() -> Coroutine[Any, Any, CdsResponse]:
        return run_hook(
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

    if size <= settings.hook_inline_bytes:
        response = await hook()
    else:
        response = await anyio.to_thread.run_sync(
            lambda: _run_here(hook()), limiter=_hook_limiter(request)
        )
    # the wire form (``CdsResponse.wire()``: JSON mode, no nulls) serialised by pydantic in
    # one step, not dumped to dicts and re-encoded by json.dumps (0.6 -> 0.15 ms)
    body = response.model_dump_json(exclude_none=True)
    request.app.state.metrics.observe_hook(
        service_id, time.perf_counter() - t0, [card.indicator for card in response.cards]
    )
    return Response(body, media_type="application/json")


@floor_router.post("/bench/floor/{service_id}", dependencies=[Depends(authenticate)])
async def cds_floor(service_id: str, request: Request) -> JSONResponse:
    """The benchmark's floor: the hook's JWT check and body parse, then no cards."""
    await _parse(service_id, request, CdsRequest)
    return JSONResponse({"cards": []})


@router.post(
    "/cds-services/{service_id}/feedback",
    dependencies=[Depends(authenticate)],
    openapi_extra=_JSON_BODY,
    responses={400: _ERR, 401: {}, 404: _ERR},
)
async def cds_feedback(service_id: str, request: Request) -> JSONResponse:
    """Record accepted/overridden outcomes for cards this service returned."""
    fb = await _parse(service_id, request, FeedbackRequest)
    store: FeedbackStore = request.app.state.feedback
    n = await run_in_threadpool(store.record, service_id, fb.feedback)  # 404: not issued here
    return JSONResponse({"recorded": n})
