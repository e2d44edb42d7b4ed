"""Authenticated clients for tests: every test that builds the app goes through here.

* ``settings(**kw)``: ``Settings(local_token=TOKEN, **kw)`` (local mode, a known token);
* ``api_client(app)``: a TestClient sending ``Authorization: Bearer TOKEN`` (every role);
* ``browser_client(app)``: a TestClient logged in through ``/login?token=`` (session cookie),
  sending the session's CSRF token as ``X-CSRF-Token`` on every request, as the page's script
  does; ``csrf_of(html)`` reads the token a page's forms carry.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from omscds.interfaces.api import Settings, create_app

__all__ = [
    "TOKEN",
    "api_client",
    "app",
    "bearer",
    "browser_client",
    "csrf_of",
    "log_in",
    "settings",
]

TOKEN = "omscds-test-token-0123456789abcdef"
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


def settings(**kw: Any) -> Settings:
    """Local-mode settings with the test token."""
    return Settings(local_token=TOKEN, **kw)


def app(**kw: Any) -> FastAPI:
    return create_app(settings(**kw))


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_client(application: FastAPI | None = None, **kw: Any) -> TestClient:
    """A client that authenticates every request with the bearer token."""
    return TestClient(application or app(**kw), headers=bearer())


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m and m.group(1), "the page carries no CSRF token"
    return m.group(1)


def log_in(client: TestClient, token: str = TOKEN) -> str:
    """Log ``client`` in as a browser would (the printed URL); return the session's CSRF token."""
    r = client.get(f"/login?token={token}", follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "omscds_session" in client.cookies
    return csrf_of(client.get("/").text)


def browser_client(application: FastAPI | None = None, **kw: Any) -> TestClient:
    """A logged-in cookie session that sends its CSRF token with every request."""
    client = TestClient(application or app(**kw))
    client.headers["X-CSRF-Token"] = log_in(client)
    return client
