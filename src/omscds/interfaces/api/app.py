"""``create_app(settings=None) -> FastAPI``: the one place the service is assembled."""

from __future__ import annotations

import importlib
import importlib.util
import logging

from fastapi import APIRouter, FastAPI

from omscds import __version__
from omscds.interfaces.api.settings import Settings
from omscds.knowledge import load_knowledge

__all__ = ["EXTRA_ROUTERS", "create_app"]

log = logging.getLogger("omscds.api")

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
    app = FastAPI(
        title="omscds",
        version=__version__,
        description="Decision support for opsoclonus-myoclonus syndrome and its occult "
        "neuroblastic tumour. It supports decisions; it does not diagnose.",
    )
    app.state.kb = kb
    app.state.settings = settings
    if settings.insecure_dev:
        log.warning("INSECURE DEV MODE: CDS Hooks JWT verification is OFF. Never use with PHI.")

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__, "kb_version": kb.version}

    _mount_extra_routers(app)
    return app
