"""Small case builders shared by the registry tests (loaded by path, like pg.py)."""

from __future__ import annotations

from typing import Any

OMS = {"opsoclonus": "present", "myoclonus": "present", "ataxia": "present"}
ITEMS = ("stance", "gait", "arm_hand_function", "opsoclonus", "mood_behaviour", "speech")


def visit(score: int | None = None, tests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A child with OMS; ``score`` spread over the six Mitchell-Pike items (0-3 each)."""
    case: dict[str, Any] = {"age_months": 22, "findings": dict(OMS)}
    if score is not None:
        items = {i: 0 for i in ITEMS}
        left = score
        for i in ITEMS:
            items[i] = min(3, left)
            left -= items[i]
        case["severity"] = {"scale": "mitchell_pike", "items": items}
    if tests:
        case["tests"] = tests
    return case


def negative_search(date: str) -> list[dict[str, Any]]:
    """A complete, negative search of neck, chest, abdomen and pelvis."""
    return [
        {
            "modality": "mri",
            "regions": ["neck", "chest", "abdomen", "pelvis"],
            "result": "negative",
            "date": date,
        }
    ]
