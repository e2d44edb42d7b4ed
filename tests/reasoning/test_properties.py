"""Property tests: any valid case gives a valid assessment; evidence moves probability the right way."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omscds.knowledge import load_knowledge
from omscds.model import BODY_REGIONS, MODALITIES, Assessment
from omscds.reasoning import assess_data

KB = load_knowledge()
STATES = ("present", "absent", "unknown")
BODY = ["neck", "chest", "abdomen", "pelvis", "whole_body"]


@st.composite
def studies(draw: Any) -> dict[str, Any]:
    modality = draw(st.sampled_from([m for m in MODALITIES if m != "biopsy"]))
    t: dict[str, Any] = {
        "modality": modality,
        "result": draw(st.sampled_from(["positive", "negative", "equivocal", "pending"])),
    }
    if modality in ("ct", "mri", "ultrasound"):
        t["regions"] = draw(
            st.lists(st.sampled_from([*BODY, "brain"]), min_size=1, max_size=3, unique=True)
        )
    return t


@st.composite
def cases(draw: Any) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(KB.findings)), max_size=8, unique=True))
    return {
        "age_months": draw(st.floats(0, 900)),
        "sex": draw(st.sampled_from(["female", "male", "other", "unknown"])),
        "findings": {k: draw(st.sampled_from(STATES)) for k in keys},
        "history": {
            "symptom_duration_weeks": draw(st.none() | st.floats(0, 200)),
            "preceding_infection": draw(st.none() | st.booleans()),
        },
        "tests": draw(st.lists(studies(), max_size=6)),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_any_valid_case_gives_a_valid_assessment(case: dict[str, Any]) -> None:
    a = assess_data(case, KB)
    Assessment.model_validate(a.model_dump(mode="json"))  # round-trips through the contract
    t = a.tumour
    assert 0 <= t.interval[0] <= t.probability <= t.interval[1] <= 1
    for ev in t.evidence:
        assert 0 <= ev.probability_after <= 1
        if ev.interval_after:
            assert ev.interval_after[0] <= ev.probability_after <= ev.interval_after[1]
    assert a.knowledge_base.version == KB.version and a.knowledge_base.sha256 == KB.sha256
    assert set(t.searched_regions) == set(BODY_REGIONS)
    for rec in a.recommendations:
        assert rec.sources and rec.rationale


@settings(max_examples=100, deadline=None)
@given(
    cases(),
    st.sampled_from(["ct", "mri", "whole_body_mri", "mibg", "urine_catecholamines"]),
    st.lists(st.sampled_from(BODY), min_size=1, max_size=3, unique=True),
)
def test_adding_a_study_moves_probability_the_right_way(
    case: dict[str, Any], modality: str, regions: list[str]
) -> None:
    case["tests"] = [
        t for t in case["tests"] if t["result"] != "positive" and t["modality"] != "biopsy"
    ]
    before = assess_data(case, KB).tumour
    for result, sign in (("negative", -1), ("positive", 1)):
        extra = {"modality": modality, "result": result}
        if modality in ("ct", "mri"):
            extra["regions"] = regions
        after = assess_data({**case, "tests": [*case["tests"], extra]}, KB).tumour
        if result == "negative":
            assert after.probability <= before.probability + 1e-9
            # adding a study never shrinks the searched regions
            for r, by in before.searched_regions.items():
                if by is not None:
                    assert after.searched_regions[r] is not None
        else:
            assert after.probability >= before.probability - 1e-9 or after.status == "confirmed"
        assert sign in (-1, 1)
