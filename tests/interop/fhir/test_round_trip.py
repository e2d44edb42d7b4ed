"""case -> FHIR Bundle -> case: the same assessment (issue 4, "FHIR bundles round-trip")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from omscds.interfaces.api import create_app
from omscds.interop.fhir import age_in_months, bundle_to_case, case_to_bundle
from omscds.interop.fhir.case_out import birth_date_for
from omscds.interop.fhir.inbound import AGE_EXTENSION, HISTORY_FIELDS
from omscds.model import History, parse_case
from omscds.reasoning import assess_data
from tests.interfaces import authkit

TODAY = dt.date(2026, 1, 10)
EXAMPLES = [
    "adult-oms-woman",
    "post-infectious-ataxia",
    "seed1-01-presentation",
    "seed1-02-mibg-negative",
    "seed1-03-ct-positive",
    "seed1-04-histology",
    "seed2-01-cerebellar-hypoperfusion",
    "seed2-02-mibg-equivocal-mri-mass",
    "seed2-03-histology",
]
HISTORY_URINE: dict[str, Any] = {
    "case_id": "rt-history-urine",
    "age_months": 30,
    "sex": "male",
    "findings": {
        "opsoclonus": "present",
        "HP:0001336": "present",  # myoclonus by HPO id
        "ataxia": "present",
        "HP:0002360": "absent",  # sleep disturbance by HPO id
        "fever": "unknown",
        "focal_deficit": "absent",  # no HPO id: written in omscds' finding system
    },
    "history": {
        "symptom_duration_weeks": 2.5,
        "preceding_infection": True,
        "recent_vaccination": False,
        "possible_toxic_ingestion": False,
        "relapse": False,
        "prior_tumour_resected": False,
    },
    "tests": [
        {
            "modality": "urine_catecholamines",
            "result": "positive",
            "quantitative": {"hva": 31.5, "vma": 22.0},
            "date": "2026-01-05",
        },
        {"modality": "mibg", "result": "equivocal", "date": "2026-01-06"},
        {
            "modality": "mri",
            "regions": ["neck", "chest", "abdomen", "pelvis"],
            "result": "pending",
            "date": "2026-01-08",
        },
    ],
}
HISTOLOGY_MIX: dict[str, Any] = {
    "case_id": "rt-histology",
    "age_months": 24.25,  # finer than a birth date carries: the age extension
    "sex": "female",
    "findings": {
        "opsoclonus": "present",
        "myoclonus": "present",
        "ataxia": "present",
        "irritability": "present",
    },
    "tests": [
        {
            "modality": "perfusion_spect",
            "result": "positive",
            "findings": ["cerebellar_hypoperfusion"],
            "quantitative": {"cerebellar_cerebral_ratio": 0.71},
            "date": "2025-11-01",
        },
        {
            "modality": "urine_catecholamines",
            "result": "negative",
            "quantitative": {"vma": 8.0},
            "date": "2025-11-02",
        },
        {
            "modality": "ct",
            "regions": ["chest", "abdomen"],
            "result": "positive",
            "findings": ["mass"],
            "location": "left adrenal, 2 cm",
            "date": "2025-11-03",
        },
        {
            "modality": "urine_catecholamines",  # a second urine test: as a DiagnosticReport
            "result": "equivocal",
            "quantitative": {"hva": 12.0},
            "date": "2025-11-04",
        },
        {
            "modality": "bone_marrow",
            "result": "positive",
            "findings": ["marrow_infiltration"],
            "histology": "neuroblastoma",
            "date": "2025-11-05",
        },
        {
            "modality": "biopsy",
            "regions": ["abdomen"],
            "result": "positive",
            "histology": "ganglioneuroma",
            "note": "core biopsy",
            "date": "2025-11-06",
        },
    ],
    "severity": {"scale": "mitchell_pike", "items": {"stance": 2, "gait": 3}, "date": "2025-11-01"},
}
PENDING_OTHER: dict[str, Any] = {
    "case_id": "rt-pending",
    "age_months": 516,
    "sex": "other",
    "findings": {"opsoclonus": "present", "ataxia": "present", "HP:0001337": "absent"},
    "history": {"symptom_duration_weeks": 1},
    "tests": [
        {"modality": "ultrasound", "regions": ["abdomen"], "result": "equivocal"},
        {"modality": "whole_body_mri", "result": "pending"},
        {"modality": "csf", "result": "positive", "findings": ["oligoclonal_bands"]},
        {"modality": "biopsy", "regions": ["chest"], "result": "negative", "histology": "other"},
        {"modality": "urine_catecholamines", "result": "pending"},
    ],
    "severity": {"scale": "mitchell_pike", "items": {"stance": 1}, "total": 1},
}
HAND_MADE = {"history-urine": HISTORY_URINE, "histology": HISTOLOGY_MIX, "pending": PENDING_OTHER}


def _normal(case: dict[str, Any], kb: Any) -> dict[str, Any]:
    """A parsed case with finding keys resolved (an HPO id and its name are the same finding)."""
    dumped = parse_case(case).model_dump(exclude={"extensions", "visit_date"})
    dumped["findings"] = {
        (kb.finding_key(k) or k): v for k, v in dumped["findings"].items() if v != "unknown"
    }
    return dumped


def _round_trip(case: dict[str, Any], kb: Any, today: dt.date = TODAY) -> dict[str, Any]:
    bundle = case_to_bundle(parse_case(case), kb, today=today)
    Bundle.model_validate(bundle)  # valid R4(B)
    ex = bundle_to_case(bundle, kb, today=today)
    assert ex.problems == [] and ex.warnings == []
    return ex.case


def _criteria(assessment: Any, kb: Any) -> list[tuple[str, bool | None, list[str]]]:
    """Criteria with evidence paths resolved (the reader names an HPO-id finding by its key)."""

    def path(p: str) -> str:
        head, _, key = p.partition(".")
        return f"findings.{kb.finding_key(key) or key}" if head == "findings" else p

    return [(c.id, c.met, [path(p) for p in c.evidence]) for c in assessment.oms.criteria]


def _same_assessment(original: dict[str, Any], back: dict[str, Any], kb: Any) -> None:
    a, b = assess_data(original, kb), assess_data(back, kb)
    assert b.oms.status == a.oms.status
    assert _criteria(b, kb) == _criteria(a, kb)
    assert b.tumour.status == a.tumour.status
    assert b.tumour.probability == a.tumour.probability
    assert b.tumour.interval == a.tumour.interval
    assert b.tumour.searched_regions == a.tumour.searched_regions
    assert [r.id for r in b.recommendations] == [r.id for r in a.recommendations]
    assert b.severity == a.severity


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_round_trip(kb, examples, name: str) -> None:
    original = examples[name]
    back = _round_trip(original, kb)
    assert back["case_id"] == original["case_id"]
    assert _normal(back, kb) == _normal(original, kb)
    _same_assessment(original, back, kb)


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_hand_made_cases_round_trip(kb, name: str) -> None:
    original = HAND_MADE[name]
    back = _round_trip(original, kb)
    assert _normal(back, kb) == _normal(original, kb)
    _same_assessment(original, back, kb)


def test_encodings_are_the_primary_ones(kb) -> None:
    bundle = case_to_bundle(parse_case(HISTORY_URINE), kb, today=TODAY)
    res = [e["resource"] for e in bundle["entry"]]
    kinds = [r["resourceType"] for r in res]
    assert kinds.count("Patient") == 1 and "DiagnosticReport" in kinds
    urine = [r for r in res[1:] if r["code"]["coding"][0]["system"] == "http://loinc.org"]
    assert {r["code"]["coding"][0]["code"] for r in urine} == {"11146-8", "3124-5"}
    assert all(r["interpretation"][0]["coding"][0]["code"] == "H" for r in urine)
    sleep = next(r for r in res if r.get("code", {}).get("text") == "HP:0002360")
    assert sleep["valueBoolean"] is False
    assert not any(r.get("code", {}).get("text") == "fever" for r in res)  # unknown: omitted
    second = case_to_bundle(parse_case(HISTOLOGY_MIX), kb, today=TODAY)
    assert (
        sum(
            r["resource"]["code"]["coding"][0]["system"] == "http://loinc.org"
            for r in second["entry"]
            if r["resource"]["resourceType"] == "Observation"
        )
        == 1
    )  # only the first urine test as LOINC values; the second is a report


def test_history_fields_match_the_model() -> None:
    assert set(HISTORY_FIELDS) == set(History.model_fields)


@pytest.mark.parametrize("age", [0, 0.1, 1, 5.5, 11.9, 19, 24.3, 71.9, 72, 516, 1800])
def test_birth_date_gives_the_age_back(age: float) -> None:
    assert age_in_months(birth_date_for(age, TODAY).isoformat(), TODAY) == round(age, 1)


def test_exact_age_extension_and_its_guard(kb) -> None:
    bundle = case_to_bundle(parse_case({"age_months": 24.25}), kb, today=TODAY)
    patient = bundle["entry"][0]["resource"]
    assert patient["extension"] == [{"url": AGE_EXTENSION, "valueDecimal": 24.25}]
    assert bundle_to_case(bundle, kb, today=TODAY).case["age_months"] == 24.25
    later = TODAY + dt.timedelta(days=365)  # a stale extension: the birth date wins
    ex = bundle_to_case(bundle, kb, today=later)
    assert ex.case["age_months"] == pytest.approx(36.2, abs=0.1)
    assert any("age extension" in str(w) for w in ex.warnings)
    plain = case_to_bundle(parse_case({"age_months": 19}), kb, today=TODAY)
    assert "extension" not in plain["entry"][0]["resource"]


def test_history_duration_in_days(kb) -> None:
    bundle = case_to_bundle(
        parse_case({"age_months": 19, "history": {"symptom_duration_weeks": 2}}), kb, today=TODAY
    )
    obs = bundle["entry"][1]["resource"]
    obs["valueQuantity"] = {"value": 21, "unit": "d", "system": "http://unitsofmeasure.org"}
    assert bundle_to_case(bundle, kb, today=TODAY).case["history"] == {
        "symptom_duration_weeks": 3.0
    }


@pytest.mark.parametrize("name", ["seed1-03-ct-positive", "seed2-03-histology", "history-urine"])
def test_round_trip_through_the_http_endpoint(kb, examples, name: str) -> None:
    original = HAND_MADE.get(name) or examples[name]
    today = dt.datetime.now(dt.UTC).date()  # the endpoint counts the age to its own today
    bundle = case_to_bundle(parse_case(original), kb, today=today)
    with TestClient(create_app(authkit.settings()), headers=authkit.bearer()) as client:
        r = client.post(
            "/fhir/$assess", json=bundle, headers={"content-type": "application/fhir+json"}
        )
    assert r.status_code == 200, r.text
    out = r.json()
    ra = next(
        e["resource"] for e in out["entry"] if e["resource"]["resourceType"] == "RiskAssessment"
    )
    native = assess_data(original, kb)
    assert ra["prediction"][0]["probabilityDecimal"] == native.tumour.probability
    obs = out["entry"][1]["resource"]
    assert obs["valueCodeableConcept"]["coding"][0]["code"] == native.oms.status
