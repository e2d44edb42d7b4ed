"""Orders reviewed against the pathway: the order card's advice is the pathway's own step."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data, review_orders, reviewed_modalities


def _child_search(examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The first seed child after a negative MIBG: the search is open, nothing imaged."""
    return copy.deepcopy(examples["seed1-02-mibg-negative"])


def test_the_reviewed_orders_come_from_the_pathway(kb: KnowledgeBase) -> None:
    assert kb.pathway is not None and kb.pathway.order_review is not None
    assert reviewed_modalities(kb) == frozenset(kb.pathway.order_review.modalities)
    assert all(not kb.modalities[m].completes_search for m in reviewed_modalities(kb))


@pytest.mark.parametrize("ordered", ["mibg", "urine_catecholamines", "ultrasound", "chest_xray"])
def test_a_complement_ordered_in_an_open_search_gets_the_pathways_imaging(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]], ordered: str
) -> None:
    a = assess_data(_child_search(examples), kb)
    assert a.pathway is not None and a.pathway.phase == "search"
    review = review_orders(a, {ordered, "ct"}, kb)
    assert review is not None
    assert review.ordered == (ordered,)
    step = next(s for s in a.pathway.steps if s.rule == review.proposal.rule)
    assert step.status == "now" and kb.modalities[step.modality or ""].completes_search
    assert review.uncovered == a.pathway.uncovered == ("neck", "chest", "abdomen", "pelvis")
    assert kb.modalities[ordered].label in review.message
    assert "neck, chest, abdomen and pelvis" in review.message
    assert review.proposal_label.startswith(kb.modalities[step.modality or ""].label)


def test_an_order_that_completes_the_search_needs_no_review(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(_child_search(examples), kb)
    assert review_orders(a, {"ct", "mri"}, kb) is None


def test_no_review_when_a_mimic_leads(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    """Brain MRI goes first: the body search is conditional, so no imaging is proposed."""
    a = assess_data(examples["child-posterior-fossa-mimic"], kb)
    assert a.pathway is not None and a.pathway.phase == "recognise"
    assert review_orders(a, {"mibg"}, kb) is None


def test_no_review_once_the_tumour_is_found(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(examples["seed1-03-ct-positive"], kb)
    assert a.pathway is not None and a.pathway.phase == "found"
    assert review_orders(a, {"mibg", "urine_catecholamines"}, kb) is None


def test_an_adult_chest_x_ray_is_answered_with_the_adult_screen(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(examples["adult-oms-woman"], kb)
    assert a.pathway is not None and a.pathway.branch == "adult"
    assert a.pathway.phase == "search"
    review = review_orders(a, {"chest_xray"}, kb)
    assert review is not None
    assert review.proposal.modality == "ct"
    assert review.uncovered == ("chest", "abdomen", "pelvis")  # the adult screen: no neck


def test_the_pathway_level_says_how_loudly_to_show_it(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    levels = {
        name: a.pathway.level
        for name, case in examples.items()
        if (a := assess_data(case, kb)).pathway is not None
    }
    assert levels["seed1-02-mibg-negative"] == "warning"  # the search is open
    assert levels["seed1-03-ct-positive"] == "warning"  # found: oncology, staging
    assert levels["child-posterior-fossa-mimic"] == "warning"  # brain MRI first
