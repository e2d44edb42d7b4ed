from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.model import parse_case
from omscds.reasoning import assess
from omscds.storage import Registry
from omscds.storage.longitudinal import canonical_json

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_reassessing_a_stored_visit_with_its_kb_gives_the_same_result(
    registry: Registry, example: Path
) -> None:
    registry.add_visit("R", json.loads(example.read_text()), "2026-12-01")
    stored = registry.history("R").latest_assessment
    assert stored is not None
    assert stored.kb_version == registry.kb.version and stored.kb_sha256 == registry.kb.sha256
    # load that knowledge-base version again (from its directory), as for an old visit
    kb = load_knowledge(None)
    assert kb.sha256 == stored.kb_sha256
    again = assess(parse_case(stored.input_case), kb).model_dump(mode="json")
    assert canonical_json(again) == canonical_json(stored.assessment)


def test_reassessment_changes_when_history_changes(registry: Registry, build: Any) -> None:
    """A control: the comparison above can fail (a relapse changes the stored input)."""
    first = registry.add_visit("C", build.visit(4), "2024-01-01")
    registry.add_relapse("C", "2024-01-01")
    again = registry.assess_visit(first.uid)
    old = registry.history("C").latest_assessment
    assert old is not None and again.input_case["history"] == {
        "relapse": True,
        "relapse_date": "2024-01-01",
    }
    kb: KnowledgeBase = registry.kb
    original = assess(parse_case({**first.case}), kb).model_dump(mode="json")
    assert canonical_json(original) != canonical_json(again.assessment)
