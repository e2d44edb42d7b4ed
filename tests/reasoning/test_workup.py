"""Recommendations built from the pathway's rules: what their rationale says about yield."""

from __future__ import annotations

import copy
from typing import Any

from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data


def _rationale(case: dict[str, Any], kb: KnowledgeBase, rec_id: str) -> str:
    recs = {r.id: r for r in assess_data(case, kb).recommendations}
    return recs[rec_id].rationale


def test_a_search_of_several_regions_gives_one_figure_for_them_together(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    """The imaging order covers four regions and is sent as one request per region: the chance
    of finding the tumour is the whole search's, never read as one region's own."""
    why = _rationale(examples["seed1-02-mibg-negative"], kb, "body_imaging")
    assert "chance these studies together find the tumour" in why
    assert "this study finds" not in why


def test_one_study_or_one_region_left_is_this_study(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    case = copy.deepcopy(examples["seed1-02-mibg-negative"])
    assert "chance this study finds the tumour" in _rationale(case, kb, "urine_hva_vma")
    done = {"modality": "mri", "regions": ["neck", "chest", "abdomen"], "result": "negative"}
    case["tests"].append({**done, "date": "2024-03-09"})
    recs = {r.id: r for r in assess_data(case, kb).recommendations}
    assert recs["body_imaging"].regions == ("pelvis",)
    assert "chance this study finds the tumour" in recs["body_imaging"].rationale
