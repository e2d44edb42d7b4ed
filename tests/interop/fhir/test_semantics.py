"""Reader rules as FHIR R4 defines them (issue 11 failures 2, 6, 8): each rule firing and not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from omscds.errors import InteropError
from omscds.interop.fhir import bundle_to_case
from omscds.model import parse_case
from omscds.reasoning import assess

TODAY = dt.date(2026, 1, 10)
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "2024-05-01", "gender": "male"}


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _obs(code: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [code]},
        **fields,
    }


def _cond(system: str, code: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "code": {"coding": [{"system": system, "code": code}]},
        **fields,
    }


@pytest.fixture
def read(kb) -> Any:
    """Read resources (with the standard patient) as one Bundle."""

    def go(*resources: dict[str, Any]) -> Any:
        return bundle_to_case(_bundle(PATIENT, *resources), kb, today=TODAY)

    return go


OPSO = {"system": "http://purl.obolibrary.org/obo/hp", "code": "HP:0010543"}


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ({"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA32-8"}]}}, "absent"),
        ({"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA33-6"}]}}, "present"),
        ({"valueCodeableConcept": {"coding": [{"system": SCT, "code": "260385009"}]}}, "absent"),
        ({"valueCodeableConcept": {"coding": [{"system": SCT, "code": "10828004"}]}}, "present"),
        ({"valueCodeableConcept": {"text": "absent"}}, "absent"),
        ({"valueString": "absent"}, "absent"),
        ({"valueString": "No"}, "absent"),
        ({"valueString": "yes"}, "present"),
        ({"valueString": "seen twice on Tuesday"}, "unknown"),
        ({"valueCodeableConcept": {"coding": [{"system": SCT, "code": "999999"}]}}, "unknown"),
        ({"valueBoolean": "true"}, "unknown"),
        ({"valueQuantity": {"value": 3}}, "unknown"),
        ({"dataAbsentReason": {"coding": [{"code": "asked-unknown"}]}}, "unknown"),
        ({"interpretation": [{"coding": [{"code": "NEG"}]}]}, "absent"),
        ({"interpretation": [{"coding": [{"code": "POS"}]}]}, "present"),
    ],
)
def test_observation_values(read, value: dict[str, Any], state: str) -> None:
    ex = read(_obs(OPSO, **value))
    assert ex.case["findings"]["opsoclonus"] == state
    if state == "unknown" and "dataAbsentReason" not in value:
        assert any(w.resource == "Observation/o1" for w in ex.warnings)  # said, not silent


@pytest.mark.parametrize(
    ("status", "used"),
    [
        ("final", True),
        ("amended", True),
        ("preliminary", True),
        ("entered-in-error", False),
        ("cancelled", False),
        ("registered", False),
    ],
)
def test_observation_status(read, status: str, used: bool) -> None:
    ex = read(_obs(OPSO, status=status, valueBoolean=True))
    assert ("opsoclonus" in ex.case["findings"]) is used
    if status == "preliminary":
        assert any("preliminary" in w.why for w in ex.warnings)


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("55929007", "irritability"),
        ("39898005", "sleep_disturbance"),
        ("20262006", "ataxia"),
        ("85102008", "ataxia"),
        ("194177006", "opsoclonus"),
    ],
)
def test_snomed_findings(read, code: str, key: str) -> None:
    assert read(_cond(SCT, code)).case["findings"] == {key: "present"}


def test_hpo_obo_purl_is_hpo(read) -> None:
    ex = read(
        _obs(
            {"system": "http://purl.obolibrary.org/obo/hp", "code": "HP:0002066"}, valueBoolean=True
        )
    )
    assert ex.case["findings"] == {"ataxia": "present"}


def test_snomed_coded_child_meets_criteria(read, kb) -> None:
    """Failure 2: SNOMED irritability + ataxia + opsoclonus must give 'criteria_met'."""
    ex = read(
        _cond(SCT, "194177006", id="c1"),
        _cond(SCT, "20262006", id="c2"),
        _cond(SCT, "55929007", id="c3"),
    )
    assert assess(parse_case(ex.case), kb).oms.status == "criteria_met"


@pytest.mark.parametrize(
    ("verification", "clinical", "state"),
    [
        ("confirmed", "active", "present"),
        ("provisional", "active", "present"),
        ("unconfirmed", None, "present"),
        ("differential", "active", None),
        ("refuted", None, "absent"),
        ("entered-in-error", None, None),
        ("confirmed", "resolved", None),
    ],
)
def test_condition_status(read, verification: str, clinical: str | None, state: str | None) -> None:
    fields: dict[str, Any] = {"verificationStatus": {"coding": [{"code": verification}]}}
    if clinical:
        fields["clinicalStatus"] = {"coding": [{"code": clinical}]}
    ex = read(_cond(SCT, "20262006", **fields))
    assert ex.case["findings"].get("ataxia") == state
    if verification in ("provisional", "differential"):
        assert any(w.resource == "Condition/c1" for w in ex.warnings)


def test_neuroblastoma_condition_is_histology(read, kb) -> None:
    ex = read(_cond(SCT, "432328008", verificationStatus={"coding": [{"code": "confirmed"}]}))
    tests = ex.case["tests"]
    assert tests[0]["modality"] == "biopsy" and tests[0]["histology"] == "neuroblastoma"
    case = parse_case(ex.case)
    met = {c.id: c.met for c in assess(case, kb).oms.criteria}
    assert met["neuroblastoma"] is True


@pytest.mark.parametrize("verification", ["provisional", "differential"])
def test_unconfirmed_neuroblastoma_is_not_histology(read, verification: str) -> None:
    ex = read(_cond(SCT, "432328008", verificationStatus={"coding": [{"code": verification}]}))
    assert ex.case["tests"] == []
    assert ex.warnings


def test_past_neuroblastoma_is_a_prior_tumour(read) -> None:
    ex = read(_cond(SCT, "432328008", clinicalStatus={"coding": [{"code": "resolved"}]}))
    assert ex.case["history"] == {"prior_tumour_resected": True}


def test_oms_diagnosis_is_reported(read) -> None:
    ex = read(_cond(SCT, "230350000"))
    assert ex.diagnoses == {"oms": "confirmed"}
    assert any("OMS diagnosis" in w.why for w in ex.warnings)


def test_loinc_ct_chest_report(read) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "d1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "24627-2", "display": "CT Chest"}]},
        "conclusionCode": [{"coding": [{"system": SCT, "code": "17621005"}]}],
        "effectiveDateTime": "2026-01-03",
    }
    assert read(report).case["tests"] == [
        {"modality": "ct", "result": "negative", "regions": ["chest"], "date": "2026-01-03"}
    ]


def test_cpt_procedure_is_a_pending_test(read) -> None:
    proc = {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": "completed",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "74177"}]},
        "performedDateTime": "2026-01-04T10:00:00Z",
    }
    assert read(proc).case["tests"] == [
        {
            "modality": "ct",
            "result": "pending",
            "regions": ["abdomen", "pelvis"],
            "date": "2026-01-04",
        }
    ]


def test_upper_trunk_imaging_study_is_the_chest_not_a_400(read) -> None:
    """Failure 6: HL7's own R4 ImagingStudy example (CT, bodySite 67734004 Upper trunk)."""
    study = {
        "resourceType": "ImagingStudy",
        "id": "s1",
        "status": "available",
        "series": [
            {
                "uid": "2.16.124.113543.6003.2588828330.45298.17418.2723805630",
                "modality": {
                    "system": "http://dicom.nema.org/resources/ontology/DCM",
                    "code": "CT",
                },
                "bodySite": {"system": SCT, "code": "67734004", "display": "Upper Trunk Structure"},
            }
        ],
    }
    assert read(study).case["tests"] == [
        {"modality": "ct", "result": "pending", "regions": ["chest"]}
    ]
    odd = {**study, "series": [{**study["series"][0], "bodySite": {"system": SCT, "code": "1234"}}]}
    ex = read(odd)
    assert ex.case["tests"] == []
    assert any(w.code == f"{SCT}|1234" for w in ex.warnings)


def test_two_patients_is_a_clear_error(kb) -> None:
    other = {**PATIENT, "id": "p2"}
    with pytest.raises(InteropError, match="one Patient per request"):
        bundle_to_case(_bundle(PATIENT, other), kb, today=TODAY)
    foreign = _obs(OPSO, valueBoolean=True, subject={"reference": "Patient/p2"})
    with pytest.raises(InteropError, match="one patient per request"):
        bundle_to_case(_bundle(PATIENT, foreign), kb, today=TODAY)
    mine = _obs(OPSO, valueBoolean=True, subject={"reference": "urn:uuid:abc"})
    bundle = _bundle(PATIENT, mine)
    bundle["entry"][0]["fullUrl"] = "urn:uuid:abc"
    assert bundle_to_case(bundle, kb, today=TODAY).case["findings"] == {"opsoclonus": "present"}


def test_deceased_patient_age_at_death(kb) -> None:
    dead = {**PATIENT, "deceasedDateTime": "2025-05-01T08:00:00Z"}
    ex = bundle_to_case(_bundle(dead), kb, today=TODAY)
    assert ex.case["age_months"] == pytest.approx(12.0, abs=0.1)
    assert any("deceased" in w.why for w in ex.warnings)


def test_unknown_codes_are_listed_not_fatal(read) -> None:
    vitals = [
        _obs({"system": LOINC, "code": "8302-2"}, id=f"v{i}", valueQuantity={"value": 80})
        for i in range(30)
    ]
    ex = read(*vitals)
    assert ex.case["findings"] == {}
    listed = [w for w in ex.warnings if w.code == f"{LOINC}|8302-2"]
    assert len(listed) == 20
    assert any("10 more Observation" in w.why for w in ex.warnings)


def test_read_bundle_gives_a_typed_case_with_provenance(kb) -> None:
    from omscds.interop.fhir import read_bundle
    from omscds.model import Case

    report = {
        "resourceType": "DiagnosticReport",
        "id": "d1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "24627-2"}]},
        "conclusionCode": [{"coding": [{"system": SCT, "code": "17621005"}]}],
    }
    intake = read_bundle(
        _bundle(
            PATIENT, _cond(SCT, "20262006", id="c7"), report, _obs({"system": LOINC, "code": "1-1"})
        ),
        kb,
        today=TODAY,
    )
    assert isinstance(intake.case, Case)
    assert intake.provenance["findings.ataxia"] == "Condition/c7"
    assert intake.provenance["tests[0]"] == "DiagnosticReport/d1"
    assert intake.provenance["age_months"] == "Patient/p1"
    assert [w.resource for w in intake.warnings] == ["Observation/o1"]


def test_exam_observation_whose_value_is_the_finding(read) -> None:
    obs = _obs(
        {"system": LOINC, "code": "29545-1", "display": "Physical findings"},
        valueCodeableConcept={"coding": [{"system": SCT, "code": "194177006"}]},
    )
    assert read(obs).case["findings"] == {"opsoclonus": "present"}
