"""The one-line summary: OMS status, the search, the phase and the phase's own next action."""

from __future__ import annotations

from typing import Any

from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data
from omscds.reports.brief import brief_line, next_action


def test_the_next_action_is_the_phases_own_not_a_standing_step(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(examples["seed1-02-mibg-negative"], kb)
    assert a.pathway is not None and a.pathway.steps[0].rule == "neurology_immunotherapy"
    step = next_action(a, kb)
    assert step is not None and step.rule == "body_imaging"
    line = brief_line(a, kb, "seed1-02")
    assert line.startswith("seed1-02: OMS criteria met | tumour search incomplete, P ")
    assert "phase search" in line and "(neck, chest, abdomen, pelvis)" in line


def test_no_probability_without_a_tumour_question(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(examples["post-infectious-ataxia"], kb)
    assert a.tumour.status == "not_applicable"
    assert "P " not in brief_line(a, kb).split("|")[1]


def test_a_mimic_gets_its_explaining_test_first(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    a = assess_data(examples["child-posterior-fossa-mimic"], kb)
    step = next_action(a, kb)
    assert step is not None and step.modality == "mri" and step.regions == ("brain",)
