"""compare_advice: what a knowledge update changes in the advice for one visit."""

from __future__ import annotations

from typing import Any

import pytest

from omscds.reasoning.changes import compare_advice


def _doc(phase: str | None, status: str, p: float, recs: tuple[str, ...]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "tumour": {"status": status, "probability": p},
        "recommendations": [{"id": r} for r in recs],
    }
    if phase is not None:
        doc["pathway"] = {"phase": phase}
    return doc


BASE = _doc("search", "search_incomplete", 0.40, ("body_imaging", "csf_support"))


@pytest.mark.parametrize(
    ("after", "what"),
    [
        (BASE, ()),
        (_doc("found", "suspected", 0.40, ("body_imaging", "csf_support")), ("phase: search -> found", "tumour: search_incomplete -> suspected")),
        (_doc("search", "search_incomplete", 0.449, ("body_imaging", "csf_support")), ()),
        (_doc("search", "search_incomplete", 0.45, ("body_imaging", "csf_support")), ("P(tumour): 40% -> 45%",)),
        (_doc("search", "search_incomplete", 0.35, ("body_imaging", "csf_support")), ("P(tumour): 40% -> 35%",)),
        (_doc("search", "search_incomplete", 0.40, ("body_imaging", "eeg_epilepsy")), ("recommendations added: eeg_epilepsy", "recommendations removed: csf_support")),
    ],
)  # fmt: skip
def test_each_kind_of_change_is_named(after: dict[str, Any], what: tuple[str, ...]) -> None:
    change = compare_advice(BASE, after, 0.05)
    assert change.what == what
    assert change.changed is bool(what)


def test_an_assessment_stored_before_the_pathway_existed_compares_on_what_it_has() -> None:
    old = _doc(None, "search_incomplete", 0.40, ("body_imaging", "csf_support"))
    change = compare_advice(old, BASE, 0.05)
    assert change.what == ("phase: (none) -> search",)
    assert compare_advice({}, BASE, 0.05).changed


def test_a_lost_probability_is_a_change() -> None:
    after = {"tumour": {"status": "not_applicable"}, "recommendations": []}
    change = compare_advice(BASE, after, 0.05)
    assert "P(tumour): 40% -> none" in change.what
