"""The staging classifiers (issue 14): the tables are complete, unknown inputs are named, and
adding information never makes an answer less specific (hypothesis)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.model import METASTATIC_SITES
from omscds.model.case import Biology, Pathology
from omscds.reasoning import assess_data
from omscds.reasoning.classify import classify

KB = load_knowledge()
ST = KB.staging
assert ST is not None


def test_the_case_vocabulary_is_the_knowledge_base_s() -> None:
    assert {s.id for s in ST.metastatic_sites} == set(METASTATIC_SITES)
    assert set(ST.variables["histology"]) == set(
        Pathology.model_fields["category"].annotation.__args__[0].__args__
    )  # type: ignore[union-attr]
    assert set(ST.variables["ploidy"]) == {"hyperdiploid", "diploid"}
    assert Biology.model_fields["mycn"] is not None


@pytest.mark.parametrize("table", ["inrgss_rules", "inrg_rules", "cog_rules"])
def test_every_complete_input_is_classified_by_exactly_one_row_or_the_first(table: str) -> None:
    """No gap: every combination of known values reaches a row (INRG: exactly one row)."""
    rules = getattr(ST, table)
    names = sorted(
        {v for r in rules for v in r.when} | ({"stage"} if table != "inrgss_rules" else set())
    )
    for combo in itertools.product(*(ST.variables[n] for n in names)):
        values = dict(zip(names, combo, strict=True))
        if values.get("stage") == "MS" and values.get("age_band") == "ge18":
            continue  # MS is only below 18 months (the stage table never gives it)
        hits = [r for r in rules if all(values[v] in a for v, a in r.when.items())]
        assert hits, (table, values)
        if table == "inrg_rules":
            assert len(hits) == 1, (values, [h.id for h in hits])


def _child(
    tumour: dict[str, Any], age: float = 30, tests: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "age_months": age,
        "findings": {"opsoclonus": "present", "myoclonus": "present", "irritability": "present"},
        "tests": tests
        or [
            {"modality": "mri", "regions": ["abdomen"], "result": "positive", "findings": ["mass"]}
        ],
        "tumour": tumour,
    }


def test_mycn_unknown_names_it_and_gives_no_group(kb: KnowledgeBase) -> None:
    a = assess_data(
        _child(
            {
                "idrf_review_complete": True,
                "metastases": dict.fromkeys(METASTATIC_SITES, "absent"),
                "pathology": {"category": "neuroblastoma"},
            }
        ),
        kb,
    )
    assert a.staging is not None
    g = a.staging.inrg_group
    assert g.result is None and g.possible == ("B", "K") and g.missing == ("mycn",)
    assert "MYCN" in g.explanation and "B or K" in g.explanation


def test_an_unknown_idrf_id_is_an_input_error_naming_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as err:
        assess_data(_child({"idrfs": {"aorta_hug": "present"}}), kb)
    assert err.value.path == "tumour.idrfs.aorta_hug"


def test_no_staging_without_a_tumour_or_for_non_neuroblastic_histology(kb: KnowledgeBase) -> None:
    plain = {"age_months": 20, "findings": {"opsoclonus": "present"}}
    assert assess_data(plain, kb).staging is None
    other = dict(plain, tests=[{"modality": "biopsy", "result": "positive", "histology": "other"}])
    assert assess_data(other, kb).staging is None


# --- properties --------------------------------------------------------------------------------
SITE_STATE = st.sampled_from(["present", "absent", "unknown"])


@st.composite
def tumours(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["idrf_review_complete"] = draw(st.booleans())
    if draw(st.booleans()):
        out["idrfs"] = {"cog_abdomen_aorta_cava": draw(st.sampled_from(["present", "absent"]))}
    out["metastases"] = {
        s: draw(SITE_STATE) for s in draw(st.lists(st.sampled_from(METASTATIC_SITES), unique=True))
    }
    path: dict[str, Any] = {}
    cat = draw(
        st.sampled_from([None, "gn_maturing", "gnb_intermixed", "gnb_nodular", "neuroblastoma"])
    )
    if cat:
        path["category"] = cat
    if cat in (None, "gnb_nodular", "neuroblastoma"):
        diff = draw(
            st.sampled_from([None, "undifferentiated", "poorly_differentiated", "differentiating"])
        )
        if diff:
            path["differentiation"] = diff
    inpc = draw(st.sampled_from([None, "favourable", "unfavourable"]))
    if inpc:
        path["inpc"] = inpc
    out["pathology"] = path
    bio: dict[str, Any] = {}
    for key, values in (
        ("mycn", ["amplified", "not_amplified"]),
        ("ploidy", ["hyperdiploid", "diploid"]),
    ):
        v = draw(st.sampled_from([None, *values]))
        if v:
            bio[key] = v
    q = draw(st.sampled_from([None, True, False]))
    if q is not None:
        bio["aberration_11q"] = q
    out["biology"] = bio
    return out


def _more(t: dict[str, Any], draw: Any) -> dict[str, Any]:
    """``t`` with unknown inputs filled in (information added, none changed)."""
    u = {k: (dict(v) if isinstance(v, dict) else v) for k, v in t.items()}
    for s in METASTATIC_SITES:
        if u["metastases"].get(s, "unknown") == "unknown" and draw(st.booleans()):
            u["metastases"][s] = draw(st.sampled_from(["present", "absent"]))
    if "idrf_review_complete" not in u and draw(st.booleans()):
        u["idrf_review_complete"] = True
    if "mycn" not in u["biology"] and draw(st.booleans()):
        u["biology"]["mycn"] = draw(st.sampled_from(["amplified", "not_amplified"]))
    if "aberration_11q" not in u["biology"] and draw(st.booleans()):
        u["biology"]["aberration_11q"] = draw(st.booleans())
    if "ploidy" not in u["biology"] and draw(st.booleans()):
        u["biology"]["ploidy"] = draw(st.sampled_from(["hyperdiploid", "diploid"]))
    if "category" not in u["pathology"] and draw(st.booleans()):
        u["pathology"]["category"] = "neuroblastoma"
    if (
        u["pathology"].get("category") in ("neuroblastoma", "gnb_nodular")
        and "differentiation" not in u["pathology"]
        and draw(st.booleans())
    ):
        u["pathology"]["differentiation"] = "differentiating"
    if "inpc" not in u["pathology"] and draw(st.booleans()):
        u["pathology"]["inpc"] = draw(st.sampled_from(["favourable", "unfavourable"]))
    return u


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=tumours(), age=st.sampled_from([6, 14, 30]), data=st.data())
def test_adding_information_never_makes_an_answer_less_specific(
    t: dict[str, Any], age: float, data: Any
) -> None:
    before = assess_data(_child(t, age), KB).staging
    after = assess_data(_child(_more(t, data.draw), age), KB).staging
    assert before is not None and after is not None
    for b, a in zip(
        (before.stage, before.inrg_group, before.inrg_risk, before.cog_risk),
        (after.stage, after.inrg_group, after.inrg_risk, after.cog_risk),
        strict=True,
    ):
        assert set(a.possible) <= set(b.possible), (b.explanation, a.explanation)
        if b.result is not None:
            assert a.result == b.result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=tumours(), age=st.sampled_from([6, 14, 30]))
def test_no_result_while_a_deciding_input_is_unknown_without_naming_it(
    t: dict[str, Any], age: float
) -> None:
    s = assess_data(_child(t, age), KB).staging
    assert s is not None
    for c in (s.stage, s.inrg_group, s.inrg_risk, s.cog_risk):
        if c.result is None:
            assert len(c.possible) > 1 and c.missing and c.missing_labels
            assert all(label in c.explanation for label in c.missing_labels)
        else:
            assert c.possible == (c.result,) and not c.missing
        assert "unclassified" not in c.possible


def test_classify_names_only_inputs_that_change_the_result() -> None:
    out = classify(
        ST.inrg_rules,
        {
            **{k: frozenset(v) for k, v in ST.variables.items()},
            "stage": frozenset({"M"}),
            "age_band": frozenset({"ge18"}),
        },
    )
    assert out.possible == ("P",) and out.deciding == ()
