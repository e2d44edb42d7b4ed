"""The web routes in process (the browser tests drive the same routes over a real socket)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader

from omscds.interfaces.api import create_app
from omscds.interfaces.web.examples import load_example
from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data
from tests.interfaces import authkit

SEED = "seed1-02-mibg-negative"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app: FastAPI = create_app(authkit.settings())
    with authkit.browser_client(app) as c:
        yield c


def _prob(html: str) -> float:
    m = re.search(r'class="prob-value" data-value="([^"]+)"', html)
    assert m, "no probability on the page"
    return float(m.group(1))


def test_blank_page_lists_grouped_findings(client: TestClient, kb: KnowledgeBase) -> None:
    r = client.get("/")
    assert r.status_code == 200
    for title in ("Eyes", "Movement", "Behaviour and sleep", "Other"):
        assert f"<legend>{title}</legend>" in r.text
    for key in kb.findings:
        assert f'name="findings.{key}" value="unknown" checked' in r.text
    assert '<script src="/static/app.js"' in r.text
    assert "http://" not in r.text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in r.text


def test_unknown_example_is_a_clear_error(client: TestClient) -> None:
    r = client.get("/?example=nope")
    assert r.status_code == 404
    assert "no example called" in r.text


def test_assess_form_post_matches_engine(client: TestClient, kb: KnowledgeBase) -> None:
    case = load_example(SEED)
    r = client.post("/assess", data={"case_json": json.dumps(case)})
    assert r.status_code == 200
    assert _prob(r.text) == assess_data(case, kb).tumour.probability


def test_validation_errors_land_beside_fields(client: TestClient) -> None:
    r = client.post("/assess", data={"age_months": "", "tests[0].modality": "ct",
                                     "tests[0].result": "postive"})  # fmt: skip
    assert r.status_code == 422
    assert 'id="f-age_months-error"' in r.text
    assert 'id="f-tests-0--result-error"' in r.text
    assert "&#39;postive&#39; is not one of" in r.text
    assert "Traceback" not in r.text


def test_bad_case_json_is_a_clear_error(client: TestClient) -> None:
    r = client.post("/report.pdf", data={"case_json": "{not json"})
    assert r.status_code == 422
    assert "not JSON" in r.text


def test_whatif_json(client: TestClient, kb: KnowledgeBase) -> None:
    case = load_example(SEED)
    actual = assess_data(case, kb)
    r = client.post("/api/whatif", json={"case": case, "next_test": 0, "result": "negative"})
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    nt = actual.tumour.next_tests[0]
    hypo = assess_data({**case, "tests": [*case["tests"],
                        {"modality": nt.modality, "regions": list(nt.regions),
                         "result": "negative"}]}, kb)  # fmt: skip
    assert body["probability"] == hypo.tumour.probability
    assert body["before"]["probability"] == actual.tumour.probability
    assert body["searched_regions"] == hypo.tumour.searched_regions
    assert [x["id"] for x in body["recommendations"]] == [x.id for x in hypo.recommendations]
    assert _prob(body["html"]) == hypo.tumour.probability


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"case": {"age_months": 19}, "next_test": 99, "result": "negative"}, "next_test"),
        ({"case": {"age_months": 19}, "next_test": 0, "result": "maybe"}, "result"),
        ({"case": {"age_months": -1}, "next_test": 0, "result": "negative"}, "age_months"),
        ({"next_test": 0}, "case"),
    ],
)
def test_whatif_json_errors(client: TestClient, payload: dict[str, Any], path: str) -> None:
    r = client.post("/api/whatif", json=payload)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == path


def test_static_files_only_whitelisted(client: TestClient) -> None:
    assert client.get("/static/app.js").status_code == 200
    assert "text/css" in client.get("/static/report.css").headers["content-type"]
    assert client.get("/static/..%2Fforms.py").status_code == 404
    assert client.get("/static/forms.py").status_code == 404


def test_pdf_download(client: TestClient) -> None:
    r = client.post("/report.pdf", data={"case_json": json.dumps(load_example(SEED))})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert f"omscds-report-{SEED}.pdf" in r.headers["content-disposition"]
    # the page's PDF carries the case's inputs on page 1, as the CLI's does
    first = re.sub(r"\s+", "", PdfReader(io.BytesIO(r.content)).pages[0].extract_text())
    assert "wasnotpassed" not in first
    assert "Inputs" in first and "Age1y7mo" in first, first[:400]
