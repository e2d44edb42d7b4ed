"""Shared fixtures: the shipped knowledge base, a tiny hand-built one, and example cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def examples() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))}
