"""Shared fixtures: the shipped knowledge base, a tiny hand-built one, and example cases."""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The tests never touch the user's own registry: the default SQLite file (platformdirs'
# user data dir) points into a fresh directory for this run, inherited by servers the tests
# start. Found when two checkouts' runs shared ~/.local/share/omscds.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="omscds-test-data-")

from omscds.knowledge import KnowledgeBase, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def examples() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))}


_databases = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One real PostgreSQL on loopback for the session (``tests/storage/pg.py``)."""
    from tests.interfaces.api import live

    server = live.start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A fresh, empty PostgreSQL database."""
    return str(pg_server.create_database(f"db{next(_databases)}"))
