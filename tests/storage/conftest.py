"""Fixtures of the registry tests: every storage test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.storage import Registry, open_registry


def _load_pg() -> Any:
    name = "_omscds_tests_pg"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("pg.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


pg = _load_pg()
_counter = itertools.count()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    server = pg.start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    server = request.getfixturevalue("pg_server")
    return str(server.create_database(f"t{next(_counter)}"))


@pytest.fixture
def registry(db_url: str, kb: KnowledgeBase) -> Iterator[Registry]:
    reg = open_registry(db_url, kb, actor="tester", create=True)
    try:
        yield reg
    finally:
        reg.close()
