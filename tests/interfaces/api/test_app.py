"""The HTTP API in-process and against a real uvicorn server on 127.0.0.1; schemathesis fuzzing."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from omscds.interfaces.api import EXTRA_ROUTERS, Settings, create_app
from tests.interfaces import authkit


@pytest.fixture(scope="module")
def client() -> TestClient:
    return authkit.api_client(max_request_bytes=50_000)


def test_health_and_kb(client: TestClient, kb) -> None:
    assert client.get("/healthz").json()["kb_version"] == kb.version
    info = client.get("/api/v1/kb").json()
    assert info["sha256"] == kb.sha256 and "opsoclonus" in info["findings"]


def test_assess_returns_the_assessment(client: TestClient, examples, kb) -> None:
    r = client.post("/api/v1/assess", json=examples["seed1-01-presentation"])
    assert r.status_code == 200
    assert r.json()["knowledge_base"]["version"] == kb.version
    assert r.json()["oms"]["status"] == "criteria_met"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (
            {"age_months": 19, "tests": [{"modality": "mibg", "result": "postive"}]},
            "tests[0].result",
        ),
        ({"age_months": -1}, "age_months"),
        ({"findings": {}}, "age_months"),
        ({"age_months": 19, "findings": {"wobbly": "present"}}, "findings.wobbly"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/api/v1/assess", "/api/v1/validate"])
def test_bad_cases_are_problems_naming_the_field(
    client, endpoint: str, body: Any, path: str
) -> None:
    r = client.post(endpoint, json=body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert path in [e["path"] for e in r.json()["errors"]]


def test_not_json_and_too_large(client: TestClient) -> None:
    r = client.post(
        "/api/v1/assess", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["status"] == 400
    r = client.post(
        "/api/v1/assess", content=b"x" * 60_000, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_fhir_assess_and_operation_outcome(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p9", "birthDate": "2024-01-01"}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "valueBoolean": True,
                    "code": {
                        "coding": [
                            {"system": "http://human-phenotype-ontology.org", "code": "HP:0010543"}
                        ]
                    },
                }
            },
        ],
    }
    r = client.post("/fhir/$assess", json=bundle)
    assert r.status_code == 200 and r.headers["content-type"] == "application/fhir+json"
    assert r.json()["entry"][0]["resource"]["subject"]["reference"] == "Patient/p9"
    r = client.post(
        "/fhir/$assess", content=b"[]", headers={"content-type": "application/fhir+json"}
    )
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_phenopacket_import(client: TestClient) -> None:
    pp = {
        "subject": {"id": "x", "timeAtLastEncounter": {"age": {"iso8601duration": "P2Y"}}},
        "phenotypicFeatures": [{"type": {"id": "HP:0010543"}}],
    }
    assert client.post("/api/v1/import/phenopacket", json=pp).json()["findings"] == {
        "opsoclonus": "present"
    }


_PREFLIGHT = {
    "Origin": "http://localhost:3000",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def test_cors_is_off_unless_origins_are_listed(client: TestClient) -> None:
    r = client.options("/cds-services", headers=_PREFLIGHT)
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    allowed = authkit.api_client(cors_origins=["http://localhost:3000"])
    r = allowed.options("/cds-services", headers=_PREFLIGHT)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    r = allowed.options("/cds-services", headers={**_PREFLIGHT, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    with pytest.raises(ValueError, match="no '\\*'"):
        Settings(cors_origins=["*"])


def test_cds_needs_a_token_unless_insecure_dev(client: TestClient, caplog) -> None:
    assert client.get("/cds-services").status_code == 401
    with caplog.at_level("WARNING"):
        dev = TestClient(create_app(Settings(insecure_dev=True)))
    assert "INSECURE DEV MODE" in caplog.text
    assert dev.get("/cds-services").status_code == 200


def test_extra_routers_mounted_when_present(tmp_path, monkeypatch) -> None:
    from omscds.interfaces.api import app as app_module

    assert "omscds.interfaces.web.routes" in EXTRA_ROUTERS
    (tmp_path / "extra_ok_router.py").write_text(
        "from fastapi import APIRouter\nrouter = APIRouter()\n"
        "@router.get('/extra-ok')\ndef ok() -> dict:\n    return {'ok': True}\n"
    )
    (tmp_path / "extra_broken_router.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(app_module, "EXTRA_ROUTERS", ("extra_ok_router", "no.such.module"))
    assert TestClient(app_module.create_app()).get("/extra-ok").json() == {"ok": True}
    monkeypatch.setattr(app_module, "EXTRA_ROUTERS", ("extra_broken_router",))
    with pytest.raises(ModuleNotFoundError):
        app_module.create_app()


def test_openapi_lists_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for p in (
        "/api/v1/assess",
        "/api/v1/validate",
        "/api/v1/kb",
        "/healthz",
        "/fhir/$assess",
        "/cds-services",
        "/cds-services/{service_id}",
        "/cds-services/{service_id}/feedback",
    ):
        assert p in spec["paths"]


# -- a real server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(authkit.settings(public_base_url=base, insecure_dev=True))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def test_real_server_round_trip(live_server: str, examples) -> None:
    with httpx.Client(base_url=live_server, timeout=10, headers=authkit.bearer()) as c:
        assert c.get("/healthz").status_code == 200
        assert c.post("/api/v1/assess", json=examples["post-infectious-ataxia"]).status_code == 200
        r = c.post(
            "/api/v1/assess",
            content=json.dumps({"age_months": "old"}),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "age_months"
        assert len(c.get("/cds-services").json()["services"]) == 3


# schemathesis and the body fuzzer run against a server with real credentials:
# tests/interfaces/api/test_fuzz_service.py
