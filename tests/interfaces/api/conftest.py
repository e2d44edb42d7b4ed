"""Fixtures of the scale-out and operations tests: real Redis and PostgreSQL on loopback."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interfaces.api import live

_databases = itertools.count()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[live.RedisServer]:
    """One Redis for the session; tests use their own key prefix through fresh jtis."""
    server = live.start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    server = live.start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A fresh, empty PostgreSQL database."""
    return str(pg_server.create_database(f"api{next(_databases)}"))


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> live.Signer:
    return live.Signer(Path(tmp_path_factory.mktemp("signer")))
