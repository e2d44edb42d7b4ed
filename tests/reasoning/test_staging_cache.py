"""The staging classifications are kept per set of inputs, bounded, and equal to a fresh run."""

from __future__ import annotations

from typing import Any

from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.reasoning import assess_data
from omscds.reasoning.staging import _Lru


def test_a_cached_answer_is_the_fresh_answer(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    case = examples["seed1-03-ct-positive"]
    warm = assess_data(case, kb)  # the session knowledge base has seen it before
    fresh = assess_data(case, load_knowledge())  # a new knowledge base: an empty cache
    assert warm.staging is not None and warm.staging == fresh.staging


def test_the_cache_is_bounded() -> None:
    lru = _Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # "a" is now the most recent
    lru.put("c", 3)
    assert lru.get("b") is None and lru.get("a") == 1 and lru.get("c") == 3
    assert len(lru.data) == 2
