"""Operations: liveness (``/healthz``), readiness (``/readyz``) and Prometheus metrics
(``/metrics``).

* ``/healthz``: the process answers (200, always; a load balancer restarts it otherwise).
* ``/readyz``: the knowledge base is loaded, and the registry database and Redis answer when
  they are configured (``OMSCDS_DATABASE_URL``, ``OMSCDS_REDIS_URL``); otherwise 503 with a
  problem+json body whose ``checks`` name what is down. A proxy sends traffic only to ready
  workers.
* ``/metrics``: the Prometheus text format. Labels are route templates
  (``/cds-services/{service_id}``, never a raw path, so no patient key reaches a label), HTTP
  methods and statuses, service ids, card indicators, exception type names and the
  knowledge-base version: no PHI. Open unless ``OMSCDS_METRICS_TOKEN`` is set (then a bearer
  token); keep it off the public proxy either way (docs/deployment.md). With several workers
  (``PROMETHEUS_MULTIPROC_DIR``, set by ``omscds serve --workers N``) each process writes its
  values to that directory and a scrape of any worker sums them all.

Metrics live in one :class:`Metrics` per app (its own registry), not in module globals, so
that tests can build many apps in one process.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omscds import __version__
from omscds.errors import AuthError, OmscdsError
from omscds.interfaces.api.problems import PROBLEM_TYPE
from omscds.interfaces.api.settings import Settings
from omscds.knowledge import KnowledgeBase

__all__ = ["Metrics", "MetricsMiddleware", "Readiness", "router"]

#: latency buckets (seconds): the hook's target is tens of milliseconds
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_UNMATCHED = "(unmatched)"


class Metrics:
    """The service's metrics, registered in their own registry."""

    def __init__(self, kb: KnowledgeBase, multiproc_dir: str | None) -> None:
        self.multiproc_dir = multiproc_dir
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.kb_version = kb.version
        self.requests = Histogram(
            "omscds_http_request_duration_seconds",
            "HTTP request latency by route template, method and status.",
            ["route", "method", "status"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.hook = Histogram(
            "omscds_cds_hook_duration_seconds",
            "CDS hook latency (body parse to cards) by service and knowledge-base version.",
            ["service", "kb_version"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.cards = Counter(
            "omscds_cds_cards",
            "CDS cards issued, by service, indicator and knowledge-base version.",
            ["service", "indicator", "kb_version"],
            registry=r,
        )
        self.errors = Counter(
            "omscds_errors",
            "Errors answered, by exception type and HTTP status.",
            ["type", "status"],
            registry=r,
        )
        self.kb_info = Gauge(
            "omscds_knowledge_base_info",
            "The knowledge base this worker serves (value 1).",
            ["version", "sha256", "omscds_version"],
            registry=r,
            multiprocess_mode="max",
        )
        self.kb_info.labels(kb.version, kb.sha256, __version__).set(1)

    def observe_hook(self, service: str, seconds: float, indicators: list[str]) -> None:
        self.hook.labels(service, self.kb_version).observe(seconds)
        for indicator in indicators:
            self.cards.labels(service, indicator, self.kb_version).inc()

    def error(self, exc: BaseException, status: int) -> None:
        self.errors.labels(type(exc).__name__, str(status)).inc()

    def exposition(self) -> bytes:
        """The text format: this registry, or every worker's files in multiprocess mode."""
        if self.multiproc_dir:
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged, path=self.multiproc_dir)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request under its route template (set by the router in the scope)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        t0 = time.perf_counter()

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or _UNMATCHED
            self.metrics.requests.labels(template, scope.get("method", ""), str(status)).observe(
                time.perf_counter() - t0
            )


class Readiness:
    """The checks of ``/readyz``: each returns None when fine, else a short reason."""

    def __init__(self, settings: Settings, redis_ping: Callable[[], Any] | None) -> None:
        self.settings = settings
        self.redis_ping = redis_ping
        self._engine: Any = None

    def _database(self) -> str | None:
        from sqlalchemy import create_engine, make_url, text
        from sqlalchemy.exc import SQLAlchemyError

        from omscds.storage.database import db_reason, resolve_url

        url = resolve_url(self.settings.database_url)
        if url.startswith("sqlite"):
            # connecting would create a missing file: an empty registry is not a ready one
            database = make_url(url).database or ""
            if not Path(database).expanduser().is_file():
                return "unreachable: no such SQLite file"
        try:
            if self._engine is None:
                args = {"connect_timeout": 2} if url.startswith("postgresql") else {}
                self._engine = create_engine(
                    url, pool_pre_ping=True, hide_parameters=True, connect_args=args
                )
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            return f"unreachable: {db_reason(exc)}"
        return None

    async def _redis(self) -> str | None:
        assert self.redis_ping is not None
        try:
            await asyncio.wait_for(self.redis_ping(), timeout=self.settings.redis_timeout_s + 1)
        except (OmscdsError, TimeoutError) as exc:
            return "unreachable" if isinstance(exc, TimeoutError) else str(exc)
        return None

    async def check(self, kb: KnowledgeBase | None) -> dict[str, str]:
        """``name -> "ok"`` or the reason it is down, for each configured dependency."""
        out: dict[str, str] = {"knowledge_base": "ok" if kb is not None else "not loaded"}
        if self.settings.database_url:
            reason: str | None = await run_in_threadpool(self._database)
            out["database"] = reason or "ok"
        if self.redis_ping is not None:
            out["redis"] = await self._redis() or "ok"
        return out

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


router = APIRouter(tags=["service"])


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, str]:
    """Liveness: the process answers."""
    kb: KnowledgeBase = request.app.state.kb
    return {"status": "ok", "version": __version__, "kb_version": kb.version}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready", "content": {"application/problem+json": {}}}},
)
async def readyz(request: Request) -> Response:
    """Readiness: the knowledge base is loaded and every configured dependency answers."""
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    readiness: Readiness = request.app.state.readiness
    checks = await readiness.check(kb)
    down = sorted(name for name, state in checks.items() if state != "ok")
    if down:
        body = {
            "type": PROBLEM_TYPE + "not-ready",
            "title": "Not ready",
            "status": 503,
            "detail": f"not ready: {', '.join(down)} down",
            "checks": checks,
        }
        return JSONResponse(body, status_code=503, media_type="application/problem+json",
                            headers={"Retry-After": "5"})  # fmt: skip
    return JSONResponse({"status": "ready", "kb_version": kb.version if kb else None,
                         "checks": checks})  # fmt: skip


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (no PHI; bearer ``OMSCDS_METRICS_TOKEN`` when set)."""
    settings: Settings = request.app.state.settings
    if settings.metrics_token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), settings.metrics_token.encode()):
            raise AuthError("/metrics needs the metrics token")
    m: Metrics = request.app.state.metrics
    body = await run_in_threadpool(m.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
