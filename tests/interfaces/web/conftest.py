"""A real uvicorn server on 127.0.0.1 and one headless Debian chromium for the whole session."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from omscds.interfaces.api import create_app
from tests.interfaces import authkit

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """Start the app (create_app, so the web router is mounted as in production) on a free port."""
    with serve() as url:
        yield url


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """A fresh app on a free port of 127.0.0.1, stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(authkit.settings()), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for the web tests; package scope, so Playwright's event loop is closed
    before other packages' tests (which may call asyncio.run) start."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: run `bash tools/install-system-deps.sh`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, server_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; every request that is not to our server is blocked and recorded."""
    context = browser.new_context(accept_downloads=True, base_url=server_url)
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(server_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(f"/login?token={authkit.TOKEN}")  # the URL `omscds serve` prints
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not errors, f"JavaScript errors: {errors}"
