from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.bundle import Bundle

from omscds.interop.fhir import assessment_bundle, operation_outcome
from omscds.reasoning import assess_data

NOW = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "name", ["seed1-01-presentation", "seed2-02-mibg-equivocal-mri-mass", "post-infectious-ataxia"]
)
def test_bundle_mirrors_the_assessment(kb, examples, name: str) -> None:
    a = assess_data(examples[name], kb)
    out = assessment_bundle(a, patient_ref="Patient/p1", basis=["Observation/o1"], now=NOW)
    Bundle.model_validate(out)  # the whole Bundle is valid R4(B)
    kinds = [e["resource"]["resourceType"] for e in out["entry"]]
    ra = out["entry"][0]["resource"]
    assert kinds[0] == "RiskAssessment"
    assert ra["prediction"][0]["probabilityDecimal"] == a.tumour.probability
    low, high = (
        ra["prediction"][0]["extension"][0]["valueRange"][k]["value"] for k in ("low", "high")
    )
    assert (low, high) == a.tumour.interval
    assert kinds.count("ServiceRequest") == sum(
        r.kind in ("imaging", "laboratory") for r in a.recommendations
    )
    assert kinds.count("DetectedIssue") == len(a.alerts)
    for e in out["entry"]:
        if e["resource"]["resourceType"] == "ServiceRequest":
            assert e["resource"]["intent"] == "proposal"
            assert e["resource"]["reasonReference"][0]["reference"] == out["entry"][0]["fullUrl"]
    obs = out["entry"][1]["resource"]
    assert obs["valueCodeableConcept"]["coding"][0]["code"] == a.oms.status
    assert len(obs["component"]) == len(a.oms.criteria)
    assert out["meta"]["tag"][0]["code"] == kb.version


def test_operation_outcome_names_paths() -> None:
    oo = operation_outcome([("Bundle.entry[0]", "bad"), ("(root)", "worse")])
    assert oo["issue"][0]["expression"] == ["Bundle.entry[0]"]
    assert "expression" not in oo["issue"][1]


@pytest.mark.parametrize(
    ("modality", "regions", "codes"),
    [
        ("mibg", ["whole_body"], [["78802", "mibg"]]),
        (
            "urine_catecholamines",
            ["whole_body"],
            [["11146-8", "urine_catecholamines"], ["3124-5", "urine_catecholamines"]],
        ),
        ("mri", ["chest", "abdomen"], [["71552", "mri"], ["74183", "mri"]]),
        ("ct", ["abdomen", "pelvis"], [["74177", "ct"]]),
        ("whole_body_mri", ["whole_body"], [["46358-8", "whole_body_mri"]]),
    ],
)
def test_service_requests_carry_standard_codes(kb, modality, regions, codes) -> None:
    from fhir.resources.R4B.servicerequest import ServiceRequest

    from omscds.interop.fhir import service_requests

    srs = service_requests(
        None, patient_ref="Patient/p1", terms=kb.terminology, modality=modality, regions=regions
    )
    assert [[cd["code"] for cd in sr["code"]["coding"]] for sr in srs] == codes
    for sr in srs:
        ServiceRequest.model_validate(sr)


def test_order_codings_are_worked_out_once_and_handed_out_as_copies(kb) -> None:
    """The codings of an order are kept per terminology; a caller changing the resources it
    got must not change the next card's."""
    import copy

    from omscds.interop.fhir import service_requests

    def mri() -> list[dict]:
        srs = service_requests(
            None,
            patient_ref="Patient/p1",
            terms=kb.terminology,
            modality="mri",
            regions=["chest", "abdomen"],
            validate=False,
        )
        return [{k: v for k, v in sr.items() if k != "id"} for sr in srs]

    first = mri()
    assert [[cd["code"] for cd in sr["code"]["coding"]] for sr in first] == [
        ["71552", "mri"],
        ["74183", "mri"],
    ]
    kept = copy.deepcopy(first)
    for sr in first:
        sr["code"]["coding"][0]["code"] = "changed"
        sr["code"]["coding"].append({"system": "x", "code": "y"})
        sr["bodySite"][0]["coding"][0]["code"] = "changed"
    assert mri() == kept
    assert any(k.startswith("fhir.order_parts.mri.") for k in kb.terminology._memo)
