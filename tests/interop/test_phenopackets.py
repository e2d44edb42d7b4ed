from __future__ import annotations

from typing import Any

import pytest

from omscds.errors import InteropError
from omscds.interop.phenopackets import iso8601_months, phenopacket_to_case
from omscds.model import parse_case


def _packet(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "pp-1",
        "subject": {
            "id": "s",
            "sex": "MALE",
            "timeAtLastEncounter": {"age": {"iso8601duration": "P1Y7M"}},
        },
        "phenotypicFeatures": [
            {"type": {"id": "HP:0010543", "label": "Opsoclonus"}},
            {"type": {"id": "HP:0001336"}, "excluded": True},
        ],
        "metaData": {"phenopacketSchemaVersion": "2.0"},
    }
    doc.update(over)
    return doc


def test_features_and_age(kb) -> None:
    case = phenopacket_to_case(_packet(), kb)
    assert case == {
        "age_months": 19.0,
        "sex": "male",
        "case_id": "pp-1",
        "findings": {"opsoclonus": "present", "myoclonus": "absent"},
    }
    parse_case(case)


@pytest.mark.parametrize(
    ("text", "months"), [("P2Y", 24.0), ("P3M", 3.0), ("P1Y6M", 18.0), ("P61D", 2.0)]
)
def test_durations(text: str, months: float) -> None:
    assert iso8601_months(text) == months


def test_unknown_terms_are_reported_not_refused(kb) -> None:
    doc = _packet(phenotypicFeatures=[{"type": {"id": "HP:9999999", "label": "Odd"}}])
    case = phenopacket_to_case(doc, kb)
    assert case["findings"] == {}
    assert case["extensions"]["phenopacket_warnings"] == [
        "phenotypicFeatures[0].type.id: HP:9999999 Odd is not a term omscds uses; not used"
    ]
    parse_case(case)


def test_neuroblastoma_term_is_histology(kb) -> None:
    doc = _packet(phenotypicFeatures=[{"type": {"id": "HP:0003006", "label": "Neuroblastoma"}}])
    case = phenopacket_to_case(doc, kb)
    assert case["tests"][0]["histology"] == "neuroblastoma"
    parse_case(case)


@pytest.mark.parametrize(
    ("features", "state"),
    [
        # present ataxia, excluded narrower truncal ataxia: consistent, ataxia present
        ([("HP:0001251", False), ("HP:0002078", True)], "present"),
        # present gait ataxia, excluded truncal ataxia: present
        ([("HP:0002066", False), ("HP:0002078", True)], "present"),
        # excluded ataxia itself but a narrower term present: inconsistent
        ([("HP:0001251", True), ("HP:0002066", False)], "unknown"),
        ([("HP:0001251", True)], "absent"),
    ],
)
def test_excluded_descendants_are_consistent(kb, features, state) -> None:
    feats = [{"type": {"id": t}, "excluded": x} for t, x in features]
    case = phenopacket_to_case(_packet(phenotypicFeatures=feats), kb)
    assert case["findings"]["ataxia"] == state


@pytest.mark.parametrize(
    ("subject", "extra", "months"),
    [
        (
            {
                "timeAtLastEncounter": {
                    "ageRange": {
                        "start": {"iso8601duration": "P1Y"},
                        "end": {"iso8601duration": "P2Y"},
                    }
                }
            },
            {},
            24.0,
        ),
        (
            {"dateOfBirth": "2024-01-01T00:00:00Z"},
            {"metaData": {"created": "2025-01-01T00:00:00Z"}},
            12.0,
        ),
        (
            {},
            {
                "phenotypicFeatures": [
                    {"type": {"id": "HP:0010543"}, "onset": {"age": {"iso8601duration": "P8M"}}},
                    {"type": {"id": "HP:0001251"}, "onset": {"age": {"iso8601duration": "P14M"}}},
                ]
            },
            14.0,
        ),
        (
            {},
            {
                "diseases": [
                    {"term": {"id": "OMIM:1"}, "onset": {"ontologyClass": {"id": "HP:0003593"}}}
                ]
            },
            0.9,  # Infantile onset: from 28 days (HPO), the youngest age it allows
        ),
    ],
)
def test_age_from_any_time_element(kb, subject, extra, months) -> None:
    doc = _packet(subject={"id": "s", "sex": "FEMALE", **subject}, **extra)
    case = phenopacket_to_case(doc, kb)
    assert case["age_months"] == months
    if "timeAtLastEncounter" not in subject:
        assert case["extensions"]["phenopacket_warnings"]  # the approximation is said


def test_no_age_at_all_is_a_clear_error(kb) -> None:
    with pytest.raises(InteropError, match="no age: the packet has no time element") as exc:
        phenopacket_to_case(_packet(subject={"id": "s"}), kb)
    assert "child or adult pathway" in exc.value.message and "age_months" in exc.value.message


def test_an_age_given_with_the_packet_is_used_and_said(kb) -> None:
    case = phenopacket_to_case(_packet(subject={"id": "s"}), kb, age_months=20)
    assert case["age_months"] == 20
    assert "as given with it" in case["extensions"]["phenopacket_warnings"][0]
    # the packet's own age wins over one given with it
    assert phenopacket_to_case(_packet(), kb, age_months=40)["age_months"] == 19.0


@pytest.mark.parametrize(
    ("subject", "extra", "months", "said"),
    [
        (
            {"vitalStatus": {"status": "DECEASED", "timeOfDeath": {"age": {"iso8601duration": "P3Y"}}}},
            {},
            36.0,
            "age at death",
        ),
        (
            {},
            {"measurements": [{"assay": {"id": "LOINC:1"}, "timeObservation": {"age": {"iso8601duration": "P2Y2M"}}}]},
            26.0,
            "measurements[0].timeObservation",
        ),
        (
            {},
            {"biosamples": [{"id": "b", "timeOfCollection": {"age": {"iso8601duration": "P10M"}}}]},
            10.0,
            "biosamples[0].timeOfCollection",
        ),
        (
            {},
            {"medicalActions": [{"procedure": {"code": {"id": "NCIT:C15189"}, "performed": {"age": {"iso8601duration": "P1Y9M"}}}}]},
            21.0,
            "medicalActions[0].procedure.performed",
        ),
        (
            {"dateOfBirth": "2024-01-01T00:00:00Z"},
            {"medicalActions": [{"treatment": {"agent": {"id": "x"}, "doseIntervals": [{"interval": {"start": "2024-06-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}}]}}]},
            12.0,
            "doseIntervals[0].interval",
        ),
        (
            {},
            {"medicalActions": [{"therapeuticRegimen": {"startTime": {"age": {"iso8601duration": "P2Y"}}, "endTime": {"age": {"iso8601duration": "P2Y6M"}}}}]},
            30.0,
            "therapeuticRegimen.endTime",
        ),
        (
            {},
            {"diseases": [{"term": {"id": "OMIM:1"}, "onset": {"ontologyClass": {"id": "HP:0011463", "label": "Childhood onset"}}}]},
            12.0,  # 1 to 5 years (HPO): the youngest age it allows, and the warning says so
            "the youngest age Childhood onset (HP:0011463) allows",
        ),
    ],
)  # fmt: skip
def test_age_from_other_v2_time_elements(kb, subject, extra, months: float, said: str) -> None:
    doc = _packet(subject={"id": "s", **subject}, **extra)
    case = phenopacket_to_case(doc, kb)
    assert case["age_months"] == months
    assert any(said in w for w in case["extensions"]["phenopacket_warnings"])
    parse_case(case)


@pytest.mark.parametrize(
    ("over", "err", "path"),
    [
        (
            {"subject": {"timeAtLastEncounter": {"age": {"iso8601duration": "19 months"}}}},
            InteropError,
            "subject.timeAtLastEncounter.age",
        ),
        ({"subject": None}, InteropError, "subject"),
    ],
)
def test_bad_packets(kb, over: dict[str, Any], err: type[Exception], path: str) -> None:
    with pytest.raises(err) as exc:
        phenopacket_to_case(_packet(**over), kb)
    assert exc.value.path == path  # type: ignore[attr-defined]


def test_intake_is_typed_with_provenance(kb) -> None:
    from omscds.interop.phenopackets import read_phenopacket
    from omscds.model import Case

    intake = read_phenopacket(_packet(), kb)
    assert isinstance(intake.case, Case)
    assert intake.provenance["findings.opsoclonus"] == "phenotypicFeatures[0].type.id"
    assert intake.provenance["findings.myoclonus"] == "phenotypicFeatures[1].type.id"
