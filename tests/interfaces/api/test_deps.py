"""The shared dependencies, and the CDS hook routes resolving none of theirs in a thread."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from omscds.interfaces.api.deps import get_kb, get_settings
from omscds.interfaces.api.routes_cds import floor_router, router
from tests.interfaces import authkit


def _calls(dep: Dependant) -> Iterator[Any]:
    for sub in dep.dependencies:
        yield sub.call
        yield from _calls(sub)


def test_the_shared_dependencies_read_the_app_state(kb) -> None:
    client = authkit.api_client()
    request: Any = type("R", (), {"app": client.app})()
    assert inspect.iscoroutinefunction(get_kb) and inspect.iscoroutinefunction(get_settings)
    got_kb = _run(get_kb(request))
    assert got_kb is client.app.state.kb and got_kb.version == kb.version
    assert _run(get_settings(request)) is client.app.state.settings


def _run(coro: Any) -> Any:
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the dependency awaited something")


def test_cds_routes_resolve_no_dependency_in_the_thread_pool() -> None:
    """FastAPI runs a plain ``def`` dependency in its thread pool: about 0.1 ms of CPU per
    dependency per call, on the path every chart opening takes."""
    routes = [r for r in (*router.routes, *floor_router.routes) if isinstance(r, APIRoute)]
    assert {r.path for r in routes} >= {"/cds-services/{service_id}", "/bench/floor/{service_id}"}
    sync = [
        f"{r.path}: {getattr(call, '__name__', call)}"
        for r in routes
        for call in _calls(r.dependant)
        if call is not None and not inspect.iscoroutinefunction(call)
    ]
    assert sync == []
