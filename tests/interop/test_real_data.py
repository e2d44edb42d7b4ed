"""Real data from ../shared/data (Synthea FHIR patients, GA4GH phenopacket-store packets)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omscds.interfaces.api import create_app
from omscds.interop.fhir import bundle_to_case
from tests.interfaces import authkit

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SYNTHEA = sorted((SHARED / "synthea").glob("*.json"))
TODAY = dt.date(2026, 12, 2)


def _expected_age(patient: dict[str, Any], today: dt.date) -> float:
    """Months from birth to death (or today), counted independently of the reader."""
    born = dt.date.fromisoformat(patient["birthDate"])
    end = today
    if isinstance(patient.get("deceasedDateTime"), str):
        end = min(end, dt.date.fromisoformat(patient["deceasedDateTime"][:10]))
    return (end - born).days * 12 / 365.25


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = create_app(authkit.settings(public_base_url="http://127.0.0.1:8000"))
    return TestClient(app, headers=authkit.bearer())


@pytest.mark.parametrize("path", SYNTHEA or [None], ids=lambda p: p.stem[:8] if p else "missing")
def test_synthea_patient_is_assessed_with_its_age(kb, kit, client, path: Path | None) -> None:
    if path is None:
        kit.shared_file("data/synthea")
        pytest.skip("reference material missing: ../shared/data/synthea/*.json")
    bundle = json.loads(path.read_text())
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    ex = bundle_to_case(bundle, kb, today=TODAY)
    assert ex.case["age_months"] == pytest.approx(_expected_age(patient, TODAY), abs=0.15)
    r = client.post(
        "/fhir/$assess",
        content=path.read_bytes(),
        headers={"content-type": "application/fhir+json"},
    )
    assert r.status_code == 200, r.text[:300]
    kinds = [e["resource"]["resourceType"] for e in r.json()["entry"]]
    assert "RiskAssessment" in kinds


def test_assess_lists_what_it_did_not_understand(client) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "2024-05-01"}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o9",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
                    "valueQuantity": {"value": 80},
                }
            },
        ],
    }
    r = client.post("/fhir/$assess", json=bundle)
    assert r.status_code == 200
    outcomes = [
        e["resource"]
        for e in r.json()["entry"]
        if e["resource"]["resourceType"] == "OperationOutcome"
    ]
    [issue] = outcomes[0]["issue"]
    assert issue["severity"] == "warning"
    assert "Observation/o9" in issue["diagnostics"] and "8302-2" in issue["diagnostics"]
    assert issue["expression"] == ["Bundle.entry[1].resource"]


PHENOPACKETS = sorted((SHARED / "phenopackets").glob("*.json"))


def _has_time_element(doc: dict[str, Any]) -> bool:
    """Any v2 TimeElement anywhere in the packet, found independently of the reader."""
    keys = {"timeAtLastEncounter", "timeOfDeath", "dateOfBirth", "onset", "resolution"}
    keys |= {"timeObservation", "timeOfCollection", "performed", "interval"}
    keys |= {"startTime", "endTime"}

    def walk(x: Any) -> bool:
        if isinstance(x, dict):
            return any(k in keys or walk(v) for k, v in x.items())
        return isinstance(x, list) and any(walk(v) for v in x)

    return walk(doc)


def test_real_phenopackets_import(kb, kit, client) -> None:
    """Issue 11 asked >= 95%; 6 of the 50 shared packets hold no time element at all (no age,
    date of birth, onset or any other time), so 44 (88%) is all an honest reader gets: those 6
    are a clear 422 naming why, and import once the age is given with them."""
    if not PHENOPACKETS:
        kit.shared_file("data/phenopackets")
    from omscds.interop.phenopackets import read_phenopacket

    imported, no_age = 0, []
    for path in PHENOPACKETS:
        doc = json.loads(path.read_text())
        r = client.post(
            "/api/v1/import/phenopacket",
            content=path.read_bytes(),
            headers={"content-type": "application/json"},
        )
        if r.status_code == 200:
            imported += 1
            read_phenopacket(doc, kb)  # the typed intake agrees
            continue
        assert r.status_code == 422 and "no age" in r.text, (path.name, r.text[:200])
        assert not _has_time_element(doc), path.name  # refused only when truly no age
        no_age.append(path.name)
        with pytest.raises(Exception, match="no age"):
            read_phenopacket(doc, kb)
        assert read_phenopacket(doc, kb, age_months=30).case.age_months == 30
        given = client.post(
            "/api/v1/import/phenopacket?age_months=30",
            content=path.read_bytes(),
            headers={"content-type": "application/json"},
        )
        assert given.status_code == 200 and given.json()["age_months"] == 30, given.text[:200]
    assert imported + len(no_age) == len(PHENOPACKETS)
    assert imported / len(PHENOPACKETS) >= 0.88, (imported, no_age)


def test_child_without_findings_gets_no_orders(client) -> None:
    """Issue 11 failure 8: no urgent toxicology (or any) ServiceRequest for an empty record."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "p", "birthDate": "2024-01-01"}}],
    }
    r = client.post("/fhir/$assess", json=bundle)
    assert r.status_code == 200
    kinds = [e["resource"]["resourceType"] for e in r.json()["entry"]]
    assert "ServiceRequest" not in kinds


@pytest.mark.parametrize("path", SYNTHEA or [None], ids=lambda p: p.stem[:8] if p else "missing")
def test_synthea_patient_through_patient_view(kb, kit, path: Path | None) -> None:
    """The same real patients as CDS Hooks prefetch (searchsets by type) get an answer."""
    import asyncio

    from omscds.interfaces.service import run_hook
    from omscds.interop.cdshooks import CdsRequest

    if path is None:
        kit.shared_file("data/synthea")
    bundle = json.loads(path.read_text())
    resources = [e["resource"] for e in bundle["entry"]]
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    prefetch = kit.prefetch_for(resources)
    body = kit.hook_request("patient-view", prefetch)
    body["context"]["patientId"] = pid
    req = CdsRequest.model_validate(body)
    resp = asyncio.run(run_hook("omscds-patient-view", req, kb, today=TODAY, fetch_timeout=1))
    for card in resp.cards:
        assert len(card.summary) < 140
    ex = bundle_to_case(bundle, kb, today=TODAY)
    assert not any("not this patient" in w.why for w in ex.warnings)
