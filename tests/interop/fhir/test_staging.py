"""The stage and risk-group Observations (issue 14), and their place in the $assess Bundle."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from omscds.interop.fhir import assessment_bundle
from omscds.interop.fhir.staging import staging_observations
from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data

NOW = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC)
VIGNETTES = Path(__file__).parents[2] / "vignettes"
EXAMPLES = Path(__file__).parents[3] / "examples"


def _case(name: str) -> dict[str, object]:
    doc = json.loads((VIGNETTES / f"{name}.json").read_text())
    return doc["case"]  # type: ignore[no-any-return]


def test_a_definite_stage_and_risk_are_coded_values(kb: KnowledgeBase) -> None:
    a = assess_data(_case("staging_inrgss_l1"), kb)
    stage, risk = staging_observations(a, patient_ref="Patient/p1", now=NOW)
    assert stage["valueCodeableConcept"]["coding"][0]["code"] == "L1"
    assert stage["code"]["coding"][0]["code"] == "inrgss"
    assert risk["valueCodeableConcept"]["coding"][0]["code"] == "low"
    comps = {x["code"]["coding"][0]["code"]: x for x in risk["component"]}
    assert comps["inrg_group"]["valueCodeableConcept"]["coding"][0]["code"] == "B"
    assert comps["inrg_risk"]["valueCodeableConcept"]["coding"][0]["code"] == "very_low"


def test_an_open_stage_has_no_value_and_says_what_decides(kb: KnowledgeBase) -> None:
    a = assess_data(json.loads((EXAMPLES / "seed1-04-histology.json").read_text()), kb)
    stage, risk = staging_observations(a, patient_ref=None, now=NOW)
    assert "valueCodeableConcept" not in stage
    assert stage["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert "L1 or L2 or M" in stage["dataAbsentReason"]["text"]
    assert any("Not known" in n["text"] for n in risk["note"])


def test_the_bundle_carries_them_only_when_a_tumour_is_staged(kb: KnowledgeBase) -> None:
    staged = assess_data(_case("staging_inrg_k"), kb)
    codes = [
        e["resource"]["code"]["coding"][0].get("code")
        for e in assessment_bundle(staged, patient_ref=None, now=NOW)["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert "inrgss" in codes and "cog_2021" in codes
    plain = assess_data(json.loads((EXAMPLES / "seed1-01-presentation.json").read_text()), kb)
    assert staging_observations(plain, patient_ref=None, now=NOW) == []
    # K's placement is an assumption: the Observation says so
    obs = staging_observations(staged, patient_ref=None, now=NOW)[1]
    group = next(x for x in obs["component"] if x["code"]["coding"][0]["code"] == "inrg_group")
    assert group["valueCodeableConcept"]["coding"][0]["code"] == "K"
