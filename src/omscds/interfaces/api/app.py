"""``create_app(settings=None) -> FastAPI``: the one place the service is assembled.

Around every request, outermost first: the metrics timer, the access log, the security headers,
CORS (only with an allow-list), the body guard (413 / 408), then the routes. Every route declares the role it
needs (``interfaces.api.auth``); every error goes through the one table
(``interfaces.api.problems``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from omscds import __version__
from omscds.interfaces.api import ops, routes_cds, routes_fhir, routes_rest
from omscds.interfaces.api.auth import install_auth
from omscds.interfaces.api.deps import latest_today
from omscds.interfaces.api.guards import AccessLog, BodyGuard, SecurityHeaders
from omscds.interfaces.api.ops import Metrics, MetricsMiddleware, Readiness
from omscds.interfaces.api.problems import install_problem_handlers
from omscds.interfaces.api.settings import Settings
from omscds.interfaces.api.work import PdfPool
from omscds.interop.cdshooks import FeedbackStore, FhirServers, JwtVerifier
from omscds.knowledge import load_knowledge

__all__ = ["EXTRA_ROUTERS", "INSECURE_WARNING", "create_app", "latest_today"]

log = logging.getLogger("omscds.api")
INSECURE_WARNING = (
    "INSECURE DEV MODE: CDS Hooks client JWTs are NOT verified. For local demos only; "
    "never expose this server or use it with real patient data."
)

#: routers other parts provide; each is mounted when its module exists. A real import error
#: inside an existing module propagates.
EXTRA_ROUTERS: tuple[str, ...] = (
    "omscds.interfaces.web.routes",
    "omscds.interfaces.api.registry_routes",
)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _mount_extra_routers(app: FastAPI) -> None:
    for name in EXTRA_ROUTERS:
        if not _module_exists(name):
            continue
        router = importlib.import_module(name).router
        if not isinstance(router, APIRouter):
            raise TypeError(f"{name}.router is not a fastapi.APIRouter")
        app.include_router(router)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI app; loads the knowledge base once into ``app.state.kb``."""
    settings = settings or Settings()
    kb = load_knowledge(settings.knowledge_dir)
    pdf_pool = PdfPool(settings.pdf_workers, settings.pdf_queue, settings.knowledge_dir)
    shared = None
    if settings.redis_url:
        from omscds.interfaces.api.shared import RedisState

        shared = RedisState(settings.redis_url, timeout_s=settings.redis_timeout_s)
    readiness = Readiness(settings, shared.ping if shared is not None else None)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        pdf_pool.close()
        readiness.close()
        app.state.feedback.close()  # commits the issued card ids still held in memory
        if shared is not None:
            await shared.aclose()
        for name in ("registry", "web_registry"):
            reg = getattr(app.state, name, None)
            if reg is not None:
                reg.close()

    app = FastAPI(
        title="omscds",
        version=__version__,
        description="Decision support for opsoclonus-myoclonus syndrome and its occult "
        "neuroblastic tumour. It supports decisions; it does not diagnose. Every endpoint "
        "but /healthz and /openapi.json needs authentication (docs/security.md).",
        docs_url=None,  # Swagger UI loads scripts from a CDN and inline: not under our CSP
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.kb = kb
    app.state.settings = settings
    app.state.pdf_pool = pdf_pool
    app.state.jwt_verifier = JwtVerifier(
        settings.cds_trusted_issuers,
        jwks_ttl=settings.jwks_cache_seconds,
        max_age=settings.jwt_max_age_s,
        leeway=settings.jwt_leeway_s,
        max_lifetime=settings.jwt_max_lifetime_s,
        jku_allowlist=settings.cds_jku_allowlist,
        shared_replay=shared,
        shared_key_sets=shared,
    )
    app.state.shared = shared
    app.state.readiness = readiness
    app.state.metrics = metrics = Metrics(kb, settings.prometheus_multiproc_dir)
    app.state.fhir_servers = FhirServers.parse(settings.cds_fhir_servers)  # fails at start
    app.state.feedback = FeedbackStore(settings.feedback_db)
    if settings.insecure_dev:
        log.warning(INSECURE_WARNING)
    install_problem_handlers(app)
    auth = install_auth(app, settings)  # after the table: its 401 handler is more specific
    app.add_middleware(
        BodyGuard, max_bytes=settings.max_request_bytes, timeout_s=settings.body_timeout_s
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        SecurityHeaders, frame_ancestors=settings.frame_ancestors, https=settings.https
    )
    if settings.access_log:
        app.add_middleware(AccessLog, key=lambda: auth.log_key)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    app.include_router(ops.router)
    app.include_router(routes_rest.router)
    app.include_router(routes_fhir.router)
    app.include_router(routes_cds.router)
    if settings.bench_floor:  # bench/service.py only: never on by default
        app.include_router(routes_cds.floor_router)
    _mount_extra_routers(app)
    return app
