from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from omscds.errors import InteropError
from omscds.interop.fhir import age_in_months, bundle_to_case, judge_marker
from omscds.interop.fhir.inbound import FindingReader
from omscds.interop.fhir.jsonshape import Cd, codings
from omscds.knowledge.codes import SYSTEM_URIS
from omscds.model import parse_case
from omscds.reasoning import assess

TODAY = dt.date(2026, 1, 10)


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def test_findings_present_and_absent(kb, kit) -> None:
    ex = bundle_to_case(_bundle(kit.oms_child_resources()), kb, today=TODAY)
    assert ex.case["findings"] == {
        "ataxia": "present",
        "irritability": "present",
        "myoclonus": "absent",
        "opsoclonus": "present",
    }
    assert ex.case["sex"] == "female"
    assert ex.case["age_months"] == pytest.approx(20.3, abs=0.1)
    assert ex.case["tests"] == [
        {
            "modality": "urine_catecholamines",
            "result": "negative",
            "quantitative": {"vma": 8.0},
            "date": "2026-01-02",
        }
    ]
    assert "Observation/o4" in ex.basis
    assert assess(parse_case(ex.case), kb).oms.status == "criteria_met"


@pytest.mark.parametrize(
    ("resource", "state"),
    [
        ({"valueBoolean": False}, "absent"),
        ({"valueBoolean": True}, "present"),
        ({"dataAbsentReason": {"coding": [{"code": "unknown"}]}}, "unknown"),
        (
            {
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "373067005"}]
                }
            },
            "absent",
        ),
        ({"interpretation": [{"coding": [{"code": "NEG"}]}]}, "absent"),
        ({}, "present"),
    ],
)
def test_observation_value_encodings(kb, kit, resource: dict[str, Any], state: str) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": kit.HPO, "code": "HP:0010543"}]},
        **resource,
    }
    ex = bundle_to_case(_bundle([kit.oms_child_resources()[0], obs]), kb, today=TODAY)
    assert ex.case["findings"]["opsoclonus"] == state


@pytest.mark.parametrize(
    ("verification", "state"),
    [("refuted", "absent"), ("confirmed", "present"), ("entered-in-error", None)],
)
def test_condition_snomed(kb, kit, verification: str, state: str | None) -> None:
    cond = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "85102008"}]},
        "verificationStatus": {"coding": [{"code": verification}]},
    }
    ex = bundle_to_case(_bundle([kit.oms_child_resources()[0], cond]), kb, today=TODAY)
    assert ex.case["findings"].get("ataxia") == state


def test_imaging_report_with_regions_and_result(kb, kit) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "d1",
        "status": "final",
        "code": {
            "coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}]
        },
        "extension": [
            {
                "url": kit.REGION_EXT,
                "valueCodeableConcept": {
                    "coding": [
                        {"system": "http://snomed.info/sct", "code": "113345001"},
                        {"system": "http://snomed.info/sct", "code": "51185008"},
                    ]
                },
            }
        ],
        "conclusionCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "432328008"}]}],
        "effectiveDateTime": "2026-01-05",
    }
    study = {
        "resourceType": "ImagingStudy",
        "id": "s1",
        "status": "available",
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
        "series": [
            {
                "uid": "1",
                "modality": {"code": "CT"},
                "bodySite": {"system": "http://snomed.info/sct", "code": "12921003"},
            }
        ],
    }
    ex = bundle_to_case(_bundle([kit.oms_child_resources()[0], report, study]), kb, today=TODAY)
    assert ex.case["tests"] == [
        {
            "modality": "mri",
            "result": "positive",
            "regions": ["abdomen", "chest"],
            "date": "2026-01-05",
        },
        {"modality": "ct", "regions": ["pelvis"], "result": "pending"},
    ]


@pytest.mark.parametrize(
    ("bundle", "path"),
    [
        ({"resourceType": "Patient"}, "resourceType"),
        ({"resourceType": "Bundle", "entry": {}}, "Bundle.entry"),
        ({"resourceType": "Bundle", "entry": [{"resource": {}}]}, "Patient"),
        ({"resourceType": "Bundle", "entry": []}, "Patient"),
        (
            {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]},
            "Bundle.entry[0].resource.birthDate",
        ),
        (
            {
                "resourceType": "Bundle",
                "entry": [{"resource": {"resourceType": "Patient", "birthDate": "20x4"}}],
            },
            "Bundle.entry[0].resource.birthDate",
        ),
    ],
)
def test_bad_bundles_name_the_path(kb, bundle: dict[str, Any], path: str) -> None:
    with pytest.raises(InteropError) as err:
        bundle_to_case(bundle, kb, today=TODAY)
    assert err.value.path == path


def test_mri_without_region_is_a_warning_not_a_test(kb, kit) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "d1",
        "status": "final",
        "code": {"coding": [{"system": kit.MOD, "code": "mri"}]},
        "conclusionCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "17621005"}]}],
    }
    ex = bundle_to_case(_bundle([kit.oms_child_resources()[0], report]), kb, today=TODAY)
    assert ex.case["tests"] == []
    assert any("body region" in w.why and w.resource == "DiagnosticReport/d1" for w in ex.warnings)


def test_conflicting_undated_findings_are_unknown_with_a_warning(kb, kit) -> None:
    res = [
        kit.oms_child_resources()[0],
        kit.finding_obs("a", "HP:0010543", True),
        kit.finding_obs("b", "HP:0010543", False),
    ]
    ex = bundle_to_case(_bundle(res), kb, today=TODAY)
    assert ex.case["findings"]["opsoclonus"] == "unknown"
    assert any("opsoclonus is absent here" in w.why for w in ex.warnings)


@pytest.mark.parametrize(
    ("obs", "verdict"),
    [
        ({"interpretation": [{"coding": [{"code": "HH"}]}]}, "positive"),
        (
            {
                "valueQuantity": {"value": 30, "unit": "mg/g"},
                "referenceRange": [{"high": {"value": 13, "unit": "mg/g"}}],
            },
            "positive",
        ),
        (
            {
                "valueQuantity": {"value": 30, "unit": "mg/g"},
                "referenceRange": [{"high": {"value": 13, "unit": "umol/mmol"}}],
            },
            None,
        ),
        ({"valueQuantity": {"value": 30}}, None),
    ],
)
def test_judge_marker(obs: dict[str, Any], verdict: str | None) -> None:
    assert judge_marker(obs) == verdict


def test_age_in_months_rejects_future() -> None:
    with pytest.raises(InteropError):
        age_in_months("2030-01-01", TODAY)


def _key_of_per_coding(kb, cd: Cd) -> str | None:
    """The finding-key lookup as it was written before ``FindingReader.keys`` (the reference)."""
    snomed = {f.snomed: k for k, f in kb.findings.items() if f.snomed}
    if cd.sid == "HPO" or (not cd.system and cd.code.startswith("HP:")):
        return kb.finding_key(cd.code)
    if cd.sid == "SNOMEDCT":
        return kb.terminology.concept("findings", "SNOMEDCT", cd.code) or snomed.get(cd.code)
    if cd.system == "https://omscds.org/fhir/CodeSystem/finding":
        return kb.finding_key(cd.code)
    return None


def test_finding_key_table_answers_as_the_per_coding_lookups(kb) -> None:
    reader = FindingReader(kb)
    codes = {*kb.findings, *kb.hpo_index, "HP:9999999", "x", ""}
    codes |= {f.snomed for f in kb.findings.values() if f.snomed}
    codes |= {cd.code for _, _, cd in kb.terminology.all_codes()}
    systems = [
        *SYSTEM_URIS.values(),
        "http://purl.obolibrary.org/obo/hp",
        "https://omscds.org/fhir/CodeSystem/finding",
        "https://omscds.org/fhir/CodeSystem/history",
        "http://example.org/local",
        "",
    ]
    checked = 0
    for system in systems:
        for code in codes:
            (cd,) = codings({"system": system, "code": code})
            assert reader.key_of(cd) == _key_of_per_coding(kb, cd), cd
            checked += reader.key_of(cd) is not None
    assert checked > len(kb.findings)
