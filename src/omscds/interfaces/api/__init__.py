"""The HTTP service: REST API, FHIR R4 operations and CDS Hooks services (FastAPI)."""

from __future__ import annotations

from omscds.interfaces.api.app import EXTRA_ROUTERS, create_app
from omscds.interfaces.api.deps import get_kb, get_settings
from omscds.interfaces.api.settings import Settings

__all__ = ["EXTRA_ROUTERS", "Settings", "create_app", "get_kb", "get_settings"]
