"""Fixtures of the scale-out and operations tests: a real Redis on loopback (PostgreSQL: the
session fixtures of `tests/conftest.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interfaces.api import live


@pytest.fixture(scope="session")
def redis_server() -> Iterator[live.RedisServer]:
    """One Redis for the session; tests use their own key prefix through fresh jtis."""
    server = live.start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> live.Signer:
    return live.Signer(Path(tmp_path_factory.mktemp("signer")))
