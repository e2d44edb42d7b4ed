"""The pathway's safety invariants (issue 10), as hypothesis property tests over generated cases.

Each invariant is checked on every generated case; each can fail (the tests below the
properties show one that would, by breaking the knowledge base on purpose).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.model import Assessment
from omscds.reasoning import assess_data
from omscds.reports import outline

KB = load_knowledge()
STATES = ("present", "absent", "unknown")
BODY = ["neck", "chest", "abdomen", "pelvis"]
CROSS = ("ct", "mri", "whole_body_mri")
COMPLEMENTS = ("mibg", "urine_catecholamines", "ultrasound", "chest_xray")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def studies(draw: Any) -> dict[str, Any]:
    modality = draw(
        st.sampled_from(
            [*CROSS, *COMPLEMENTS, "fdg_pet", "onconeural_antibodies", "toxicology", "csf", "eeg"]
        )
    )
    t: dict[str, Any] = {
        "modality": modality,
        "result": draw(st.sampled_from(["positive", "negative", "equivocal", "pending"])),
    }
    if modality in ("ct", "mri", "ultrasound"):
        t["regions"] = draw(
            st.lists(
                st.sampled_from([*BODY, "whole_body", "brain"]), min_size=1, max_size=3, unique=True
            )
        )
    if t["result"] == "positive" and modality in CROSS and draw(st.booleans()):
        t["findings"] = ["mass"]
    return t


@st.composite
def cases(draw: Any, adult: bool | None = None) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(KB.findings)), max_size=9, unique=True))
    if adult is None:
        age = draw(st.floats(0, 900))
    else:
        age = draw(st.floats(216, 900) if adult else st.floats(0, 215))
    history: dict[str, Any] = {
        "symptom_duration_weeks": draw(st.none() | st.floats(0, 60)),
        "preceding_infection": draw(st.none() | st.booleans()),
        "relapse": draw(st.none() | st.booleans()),
        "prior_tumour_resected": draw(st.none() | st.booleans()),
        "course": draw(st.none() | st.sampled_from(["acute", "episodic", "progressive"])),
        "possible_toxic_ingestion": draw(st.none() | st.booleans()),
    }
    return {
        "age_months": age,
        "sex": draw(st.sampled_from(["female", "male", "unknown"])),
        "findings": {k: draw(st.sampled_from(STATES)) for k in keys},
        "history": history,
        "tests": draw(st.lists(studies(), max_size=6)),
    }


def _cross_covered(a: Assessment) -> set[str]:
    """Regions a CT/MRI step (now or conditional) covers."""
    assert a.pathway is not None
    out: set[str] = set()
    for s in a.pathway.steps:
        if s.modality in CROSS:
            out.update(BODY if "whole_body" in s.regions else s.regions)
    return out


def _staged(a: Assessment) -> bool:
    return a.tumour.status == "confirmed"


@SETTINGS
@given(cases(adult=False))
def test_a_child_with_a_tumour_in_question_has_a_ct_mri_step_for_every_uncovered_region(
    case: dict[str, Any],
) -> None:
    a = assess_data(case, KB)
    p = a.pathway
    assert p is not None
    in_question = a.tumour.status in ("search_incomplete", "suspected") and (
        a.tumour.status == "suspected" or "Tumour question" in a.tumour.explanation
    )
    if not (in_question or p.reopened) or (a.tumour.status == "confirmed" and not p.reopened):
        return
    assert set(p.uncovered) <= _cross_covered(a), (p.phase, p.uncovered, p.steps)


@SETTINGS
@given(cases(adult=False), st.sampled_from(COMPLEMENTS), st.sampled_from(["negative", "positive"]))
def test_no_complementary_test_removes_the_ct_mri_step_or_ends_the_search(
    case: dict[str, Any], modality: str, result: str
) -> None:
    case["tests"] = [
        t for t in case["tests"] if t["modality"] in CROSS and t["result"] == "negative"
    ]
    before = assess_data(case, KB)
    extra: dict[str, Any] = {"modality": modality, "result": result}
    if modality == "ultrasound":
        extra["regions"] = ["abdomen"]
    after = assess_data({**case, "tests": [*case["tests"], extra]}, KB)
    assert before.pathway is not None and after.pathway is not None
    if before.tumour.status == "search_incomplete":
        assert after.tumour.status != "not_found"
    missing = _cross_covered(before) & set(before.pathway.uncovered)
    assert missing <= _cross_covered(after), (modality, result, after.pathway.phase)


PAEDIATRIC = ("paediatric", "neuroblastoma", "mitchell-pike", "neuroblastic")


@SETTINGS
@given(cases(adult=True))
def test_adults_get_no_paediatric_referral_scale_criterion_or_mibg_urine(
    case: dict[str, Any],
) -> None:
    a = assess_data(case, KB)
    assert a.pathway is not None and a.pathway.branch == "adult"
    for r in a.recommendations:
        text = f"{r.title} {r.rationale}".lower()
        assert not any(w in text for w in PAEDIATRIC), (r.id, text)
        assert r.modality not in ("mibg", "urine_catecholamines"), r.id
    for s in a.pathway.steps:
        assert s.modality not in ("mibg", "urine_catecholamines"), s.rule
    crit = next(c for c in a.oms.criteria if c.id == "neuroblastoma")
    assert "neuroblastic" not in crit.label.lower()


@SETTINGS
@given(cases(adult=False))
def test_a_leading_mimic_gets_its_own_test_first_and_body_imaging_only_conditionally(
    case: dict[str, Any],
) -> None:
    a = assess_data(case, KB)
    p = a.pathway
    assert p is not None
    if not (p.phase == "recognise" and "explaining test" in p.why.lower()):
        return
    top = next(c for c in KB.differential if c.id == a.differential[0].condition)
    assert top.explained_by is not None
    ids = [r.id for r in a.recommendations]
    # the explaining test is advised, ahead of every other study (referrals may come first)
    studies = [r.id for r in a.recommendations if r.kind in ("imaging", "laboratory", "assessment")]
    assert top.explained_by in ids and studies and studies[0] == top.explained_by, ids
    for r in a.recommendations:
        assert not (r.modality in CROSS and set(r.regions) & {*BODY, "whole_body"}), r.id
        assert r.modality not in ("mibg", "urine_catecholamines"), r.id


@SETTINGS
@given(cases(), st.sampled_from([*CROSS, *COMPLEMENTS]))
def test_only_negative_tests_never_raise_the_probability(
    case: dict[str, Any], modality: str
) -> None:
    case["tests"] = [t for t in case["tests"] if t["result"] == "negative"]
    before = assess_data(case, KB).tumour
    extra: dict[str, Any] = {"modality": modality, "result": "negative"}
    if modality in ("ct", "mri", "ultrasound"):
        extra["regions"] = ["chest"]
    after = assess_data({**case, "tests": [*case["tests"], extra]}, KB).tumour
    assert after.probability <= before.probability + 1e-9


@SETTINGS
@given(cases(adult=False), st.sampled_from(["ct", "mri"]), st.sampled_from(BODY))
def test_a_mass_on_ct_mri_in_a_child_with_oms_is_near_certain(
    case: dict[str, Any], modality: str, region: str
) -> None:
    """From the population prior, a mass on CT/MRI is near certain, whatever the region's share
    of tumours (review point 8). After several negative complementary tests the posterior is
    lower (the CT/MRI specificity is an assumed 98/100); it is never below the regional update."""
    from omscds.reasoning.probability import Masses, update_found, update_regions

    case["findings"] = {"opsoclonus": "present", "myoclonus": "present", "irritability": "present"}
    case["age_months"] = max(case["age_months"], 6.0)
    mass = {"modality": modality, "regions": [region], "result": "positive", "findings": ["mass"]}
    a = assess_data({**case, "tests": [mass]}, KB)
    assert a.tumour.status == "suspected"
    assert a.tumour.probability >= 0.85, a.tumour.probability
    assert a.pathway is not None and a.pathway.phase == "found"
    m = Masses.start(0.3, {"neck": 2, "chest": 6, "abdomen": 27, "pelvis": 4})
    found = update_found(m, frozenset({region}), 0.8, 0.97)[0].probability
    regional = update_regions(m, frozenset({region}), "positive", 0.8, 0.97)[0].probability
    assert found >= regional


@SETTINGS
@given(cases())
def test_not_applicable_shows_no_headline_probability(case: dict[str, Any]) -> None:
    a = assess_data(case, KB)
    if a.tumour.status != "not_applicable":
        return
    text = "\n".join(line.text for sec in outline(a, KB) for line in sec.lines)
    assert "probability of a tumour" not in text.lower()


@SETTINGS
@given(cases())
def test_oms_never_shows_100_percent_while_only_possible(case: dict[str, Any]) -> None:
    a = assess_data(case, KB)
    if a.oms.status == "criteria_met":
        return
    text = "\n".join(line.text for sec in outline(a, KB) for line in sec.lines)
    assert "(100%)" not in text


def test_the_invariants_can_fail(tmp_path: Any) -> None:
    """Drop the body-imaging step from the search phase: the first invariant must catch it."""
    import shutil

    import yaml

    from omscds.knowledge.loader import DATA_DIR

    shutil.copytree(DATA_DIR, tmp_path / "kb")
    path = tmp_path / "kb" / "pathway.yaml"
    doc = yaml.safe_load(path.read_text())
    for ph in doc["phases"]:
        if ph["id"] == "search":
            ph["steps"]["child"] = [s for s in ph["steps"]["child"] if s["rule"] != "body_imaging"]
    # keep the rule owned (the loader refuses orphans) by moving it under a phase never reached
    path.write_text(yaml.safe_dump(doc))
    broken: KnowledgeBase = load_knowledge(tmp_path / "kb")
    case = {"age_months": 20, "findings": {"opsoclonus": "present", "myoclonus": "present"}}
    a = assess_data(case, broken)
    assert a.pathway is not None and a.pathway.phase == "search"
    assert not set(a.pathway.uncovered) <= _cross_covered(a)
