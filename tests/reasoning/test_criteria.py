from __future__ import annotations

from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case
from omscds.reasoning import evaluate_criteria, oms_status, resolve

ALL_BODY = {
    "modality": "mri",
    "regions": ["neck", "chest", "abdomen", "pelvis"],
    "result": "negative",
}


def _oms(kb: KnowledgeBase, findings: dict[str, str], tests: list[dict[str, Any]] | None = None):  # type: ignore[no-untyped-def]
    return evaluate_criteria(
        resolve(parse_case({"age_months": 20, "findings": findings, "tests": tests or []}), kb), kb
    )


@pytest.mark.parametrize(
    ("met", "unknown", "status"),
    [
        (4, 0, "criteria_met"),
        (3, 1, "criteria_met"),
        (2, 2, "possible"),
        (2, 1, "possible"),
        (2, 0, "not_met"),
        (1, 3, "not_met"),
        (0, 4, "not_met"),
    ],
)
def test_three_of_four(met: int, unknown: int, status: str) -> None:
    assert oms_status(met, unknown) == status


def test_three_clinical_criteria_meet_oms(kb: KnowledgeBase) -> None:
    r = _oms(kb, {"opsoclonus": "present", "myoclonus": "present", "sleep_disturbance": "present"})
    assert r.status == "criteria_met" and r.criteria_count == 3
    tumour = next(c for c in r.criteria if c.id == "neuroblastoma")
    assert tumour.met is None


def test_myoclonus_or_ataxia_either_counts(kb: KnowledgeBase) -> None:
    r = _oms(kb, {"ataxia": "present", "myoclonus": "absent"})
    crit = next(c for c in r.criteria if c.id == "myoclonus_ataxia")
    assert crit.met is True and crit.evidence == ("findings.ataxia",)


def test_all_absent_is_not_met(kb: KnowledgeBase) -> None:
    r = _oms(kb, {"opsoclonus": "absent", "ocular_flutter": "absent"})
    assert next(c for c in r.criteria if c.id == "opsoclonus").met is False


def test_histology_meets_tumour_criterion_but_a_scan_does_not(kb: KnowledgeBase) -> None:
    scan = {"modality": "ct", "regions": ["chest"], "result": "positive", "findings": ["mass"]}
    r = _oms(kb, {"opsoclonus": "present", "ataxia": "present"}, [scan])
    assert r.status == "possible"
    assert next(c for c in r.criteria if c.id == "neuroblastoma").met is None
    bx = {"modality": "biopsy", "result": "positive", "histology": "ganglioneuroma"}
    r = _oms(kb, {"opsoclonus": "present", "ataxia": "present"}, [scan, bx])
    assert r.status == "criteria_met"
    assert next(c for c in r.criteria if c.id == "neuroblastoma").evidence == (
        "tests[1].histology",
    )


def test_complete_negative_search_makes_tumour_criterion_not_met(kb: KnowledgeBase) -> None:
    r = _oms(kb, {"opsoclonus": "present", "ataxia": "present"}, [ALL_BODY])
    assert next(c for c in r.criteria if c.id == "neuroblastoma").met is False
    assert r.status == "possible"  # behaviour/sleep still unknown
    r = _oms(
        kb,
        {
            "opsoclonus": "present",
            "ataxia": "present",
            "irritability": "absent",
            "sleep_disturbance": "absent",
            "behavioural_change": "absent",
        },
        [ALL_BODY],
    )
    assert r.status == "not_met"


def test_possible_is_marked_as_own_tier(kb: KnowledgeBase) -> None:
    r = _oms(kb, {"opsoclonus": "present", "ataxia": "present"})
    assert "no published source defines it" in r.explanation
