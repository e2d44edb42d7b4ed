"""One case, five faces: CLI, REST, FHIR ``$assess``, CDS Hooks and the web form must agree.

Each face is driven as a user would (CLI ``main``, HTTP in-process, the web form's own field
conversion); the case goes into FHIR and CDS prefetch through ``case_to_bundle``. The
assessment's OMS status and tumour probability must be the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omscds.interfaces.api import create_app
from omscds.interfaces.cli.main import main
from omscds.interfaces.web.forms import CaseForm
from omscds.interop.fhir import case_to_bundle
from omscds.model import parse_case
from omscds.reasoning import assess
from tests.interfaces import authkit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = ["seed1-01-presentation", "seed1-02-mibg-negative", "child-mibg-positive"]


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = create_app(authkit.settings(public_base_url="http://127.0.0.1:8000", insecure_dev=True))
    return TestClient(app, headers=authkit.bearer())


def _case(name: str, today: dt.date) -> dict[str, Any]:
    data = json.loads((EXAMPLES / f"{name}.json").read_text())
    data["visit_date"] = today.isoformat()  # what the FHIR and CDS readers set
    data.pop("extensions", None)  # free-form: not carried by FHIR
    return data


@pytest.mark.parametrize("name", CASES)
def test_every_face_gives_the_same_assessment(
    kb, kit, client, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    data = _case(name, today)
    case = parse_case(data)
    want = assess(case, kb)
    expected = (want.oms.status, round(want.tumour.probability, 6))

    # CLI
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data))
    assert main(["assess", str(path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    cli = out[0] if isinstance(out, list) else out
    assert (cli["oms"]["status"], round(cli["tumour"]["probability"], 6)) == expected

    # REST
    rest = client.post("/api/v1/assess", json=data).json()
    assert (rest["oms"]["status"], round(rest["tumour"]["probability"], 6)) == expected

    # FHIR $assess
    bundle = case_to_bundle(case, kb, today=today)
    r = client.post("/fhir/$assess", json=bundle)
    assert r.status_code == 200, r.text[:300]
    res = {e["resource"]["resourceType"]: e["resource"] for e in r.json()["entry"]}
    probability = res["RiskAssessment"]["prediction"][0]["probabilityDecimal"]
    oms = res["Observation"]["valueCodeableConcept"]["coding"][0]["code"]
    assert (oms, round(probability, 6)) == expected

    # CDS Hooks patient-view (the card states P(tumour) rounded to a percent)
    resources = [e["resource"] for e in bundle["entry"]]
    body = kit.hook_request("patient-view", kit.prefetch_for(resources))
    cards = client.post("/cds-services/omscds-patient-view", json=body).json()["cards"]
    if want.oms.status in ("criteria_met", "possible") or want.tumour.status in (
        "suspected",
        "search_incomplete",
        "confirmed",
    ):
        assert f"P(tumour) {want.tumour.probability:.0%}" in cards[0]["summary"]

    # web form: the page's own field conversion, then the same service
    form_case, errors = CaseForm.from_case(data, kb).to_case()
    assert errors == []
    web = assess(parse_case(form_case), kb)
    assert (web.oms.status, round(web.tumour.probability, 6)) == expected
    page = client.post("/assess", data={"case_json": json.dumps(data)})
    assert page.status_code == 200
    assert f"{want.tumour.probability:.0%}" in page.text
