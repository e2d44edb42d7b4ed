"""Fixtures of the registry tests: every storage test runs on SQLite and on PostgreSQL (the
session server of `tests/conftest.py`)."""

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


def _load(stem: str) -> Any:
    """Load a helper module next to this file (tests use --import-mode=importlib)."""
    name = f"_omscds_tests_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{stem}.py"))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


cases = _load("cases")
_counter = itertools.count()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    server = request.getfixturevalue("pg_server")
    return str(server.create_database(f"t{next(_counter)}"))


@pytest.fixture
def other_registry(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path, kb: KnowledgeBase
) -> Iterator[Registry]:
    """A second empty registry on the same engine as ``registry`` (import targets)."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    else:
        url = str(request.getfixturevalue("pg_server").create_database(f"t{next(_counter)}"))
    reg = open_registry(url, kb, actor="importer", create=True)
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def build() -> Any:
    """The case builders of ``cases.py``."""
    return cases


@pytest.fixture
def registry(db_url: str, kb: KnowledgeBase) -> Iterator[Registry]:
    reg = open_registry(db_url, kb, actor="tester", create=True)
    try:
        yield reg
    finally:
        reg.close()
