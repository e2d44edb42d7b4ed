"""The registry's FHIR export codes findings as ``$assess`` does (standard first, private extra)."""

from __future__ import annotations

from omscds.interop.fhir.registry import bundle_to_records, records_to_bundle

RECORDS = [
    {"type": "header", "format": "omscds-registry", "version": 1},
    {"type": "patient", "key": "px-1", "external_ids": {}, "created_at": "2026-01-01T00:00:00Z"},
    {
        "type": "visit",
        "uid": "v1",
        "patient": "px-1",
        "date": "2026-01-02",
        "case": {"age_months": 19, "findings": {"ataxia": "present", "myoclonus": "absent"}},
        "severity_total": None,
        "created_at": "2026-01-02T00:00:00Z",
    },
]


def test_finding_observations_carry_standard_codes(kb) -> None:
    bundle = records_to_bundle(RECORDS, kb)
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    ataxia = next(o for o in obs if o["code"]["coding"][-1]["code"] == "ataxia")
    systems = [c["system"] for c in ataxia["code"]["coding"]]
    assert systems == [
        "http://human-phenotype-ontology.org",
        "http://snomed.info/sct",
        "urn:omscds:finding",
    ]
    assert ataxia["code"]["coding"][0]["code"] == "HP:0001251"
    assert [c["code"] for c in ataxia["valueCodeableConcept"]["coding"]] == ["LA33-6", "present"]
    assert bundle_to_records(bundle) == bundle_to_records(records_to_bundle(RECORDS))
