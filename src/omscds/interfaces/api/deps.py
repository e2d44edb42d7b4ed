"""FastAPI dependencies shared by every router (ours and the web/registry routers)."""

from __future__ import annotations

from fastapi import Request

from omscds.interfaces.api.settings import Settings
from omscds.knowledge import KnowledgeBase

__all__ = ["get_kb", "get_settings"]


def get_kb(request: Request) -> KnowledgeBase:
    """The knowledge base loaded once by ``create_app`` (``app.state.kb``)."""
    kb: KnowledgeBase = request.app.state.kb
    return kb


def get_settings(request: Request) -> Settings:
    """The settings the app was created with (``app.state.settings``)."""
    settings: Settings = request.app.state.settings
    return settings
