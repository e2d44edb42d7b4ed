"""Registry pages (patient list, timeline, add a visit), shown when a registry is configured
(``OMSCDS_DATABASE_URL``)."""

from __future__ import annotations

import os

from fastapi import APIRouter

__all__ = ["registry_configured", "registry_router"]

registry_router = APIRouter(include_in_schema=False)


def registry_configured() -> bool:
    return bool(os.environ.get("OMSCDS_DATABASE_URL"))
