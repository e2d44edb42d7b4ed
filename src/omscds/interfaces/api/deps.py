"""FastAPI dependencies shared by every router (ours and the web/registry routers).

They are ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
hand-off per dependency per request for what is an attribute read (on the CDS hook, two of
them cost more server CPU than the engine).
"""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from omscds.interfaces.api.settings import Settings
from omscds.knowledge import KnowledgeBase

__all__ = ["get_kb", "get_settings", "latest_today"]


async def get_kb(request: Request) -> KnowledgeBase:
    """The knowledge base loaded once by ``create_app`` (``app.state.kb``)."""
    kb: KnowledgeBase = request.app.state.kb
    return kb


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with (``app.state.settings``)."""
    settings: Settings = request.app.state.settings
    return settings


def latest_today() -> dt.date:
    """The latest calendar date anywhere on Earth now (UTC+14): a test dated after it is in
    the future for every user, whatever their time zone."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()
