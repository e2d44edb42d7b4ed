"""CDS Hooks end to end in-process (httpx ASGITransport): JWT checks, cards, schema, feedback,
and the FHIR-server fallback against a real FHIR server on loopback."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml

from omscds.interfaces.api import Settings, create_app

GOLDEN = Path(__file__).parent / "golden"
BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def schemas(kit) -> Any:
    doc = yaml.safe_load(kit.shared_file("spec/external/cds-hooks-openapi.yaml").read_text())

    def validator(name: str) -> Any:
        return jsonschema_rs.Draft4Validator(
            {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        )

    return validator


@pytest.fixture(scope="module")
def app(signing_keys: dict[str, Any]) -> Any:
    issuers = {"https://ehr.test.invalid": signing_keys["jwks_path"]}
    return create_app(Settings(public_base_url=BASE, cds_trusted_issuers=issuers))


def assert_valid_fhir(resource: dict[str, Any]) -> None:
    """Card resources are built without validation on the hot path: validate them here."""
    from fhir.resources.R4B.servicerequest import ServiceRequest

    ServiceRequest.model_validate(resource)


def call(app: Any, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            return await c.request(method, path, headers=headers, **kw)

    # a fresh thread has no running event loop, whatever other tests left in the main thread
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_discovery_validates(app, make_token, schemas) -> None:
    r = call(app, "GET", "/cds-services", make_token(f"{BASE}/cds-services"))
    assert r.status_code == 200
    schemas("CdsServiceInformation").validate(r.json())
    hooks = {s["hook"] for s in r.json()["services"]}
    assert hooks == {"patient-view", "order-select", "order-sign"}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("valid-es384", None),
        ("valid-rs384", None),
        ("no-token", "missing bearer token"),
        ("expired", "token expired"),
        ("wrong-aud", "wrong audience"),
        ("none-alg", "algorithm 'none' not allowed"),
        ("hs256-public-key", "algorithm 'HS256' not allowed"),
        ("unknown-issuer", "issuer not trusted"),
        ("foreign-jku", "jku is not the issuer's registered key set"),
        ("old-iat", "token too old"),
        ("missing-jti", "claim 'jti' missing"),
    ],
)
def test_jwt_cases(app, make_token, signing_keys, case: str, reason: str | None) -> None:
    import time

    import jwt

    aud = f"{BASE}/cds-services"
    now = int(time.time())
    token = {
        "valid-es384": lambda: make_token(aud),
        "valid-rs384": lambda: make_token(aud, alg="RS384"),
        "no-token": lambda: None,
        "expired": lambda: make_token(aud, iat=now - 900, exp=now - 600),
        "wrong-aud": lambda: make_token(f"{BASE}/cds-services/omscds-patient-view"),
        "none-alg": lambda: jwt.encode(
            {
                "iss": "https://ehr.test.invalid",
                "aud": aud,
                "iat": now,
                "exp": now + 60,
                "jti": "n",
            },
            None,
            algorithm="none",
        ),
        "hs256-public-key": lambda: _hs256_with_public_key(signing_keys, aud, now),
        "unknown-issuer": lambda: make_token(aud, iss="https://evil.invalid"),
        "foreign-jku": lambda: _with_jku(signing_keys, aud, now),
        "old-iat": lambda: make_token(aud, iat=now - 3600, exp=now + 60),
        "missing-jti": lambda: make_token(aud, jti=None),
    }[case]()
    r = call(app, "GET", "/cds-services", token)
    if reason is None:
        assert r.status_code == 200
    else:
        assert r.status_code == 401
        assert r.json()["detail"].startswith(reason)
        assert "WWW-Authenticate" in r.headers


def _hs256_with_public_key(keys: dict[str, Any], aud: str, now: int) -> str:
    import base64
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pub = (
        keys["RS384"][1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rs-1"}).encode())
    body = b64(
        json.dumps(
            {"iss": "https://ehr.test.invalid", "aud": aud, "iat": now, "exp": now + 60, "jti": "h"}
        ).encode()
    )
    sig = b64(hmac.new(pub, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def _with_jku(keys: dict[str, Any], aud: str, now: int) -> str:
    import jwt

    kid, key = keys["ES384"]
    return jwt.encode(
        {"iss": "https://ehr.test.invalid", "aud": aud, "iat": now, "exp": now + 60, "jti": "j"},
        key,
        algorithm="ES384",
        headers={"kid": kid, "jku": "http://127.0.0.1:9/evil-jwks.json"},
    )


def test_replayed_jti_is_refused(app, make_token) -> None:
    token = make_token(f"{BASE}/cds-services")
    assert call(app, "GET", "/cds-services", token).status_code == 200
    r = call(app, "GET", "/cds-services", token)
    assert r.status_code == 401 and "replayed" in r.json()["detail"]


def test_patient_view_card(app, make_token, schemas, kit) -> None:
    url = "/cds-services/omscds-patient-view"
    body = kit.hook_request("patient-view", kit.prefetch_for(kit.oms_child_resources()))
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    assert r.status_code == 200, r.text
    schemas("CdsResponse").validate(r.json())
    card = r.json()["cards"][0]
    assert card["indicator"] == "warning"
    assert len(card["summary"]) < 140  # the spec: a "<140-character" summary
    assert "OMS criteria met" in card["summary"]
    assert card.get("suggestions")
    for s in card["suggestions"]:
        assert s["actions"][0]["resource"]["resourceType"] == "ServiceRequest"
        assert s["actions"][0]["resource"]["intent"] == "proposal"
        assert_valid_fhir(s["actions"][0]["resource"])
    assert all(o["display"] for o in card["overrideReasons"])


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_mibg_order_warns_and_suggests_mri(app, make_token, schemas, kit, hook: str) -> None:
    url = f"/cds-services/omscds-{hook}"
    body = kit.hook_request(
        hook,
        kit.prefetch_for(kit.oms_child_resources()),
        draftOrders=kit.mibg_order(),
        selections=["ServiceRequest/sr1"],
    )
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    assert r.status_code == 200, r.text
    schemas("CdsResponse").validate(r.json())
    (card,) = r.json()["cards"]
    assert card["indicator"] == "warning"
    assert len(card["summary"]) < 140
    srs = [a["resource"] for a in card["suggestions"][0]["actions"]]
    # one orderable request per region, each with a standard (CPT) code and omscds' own code
    assert {b["text"] for sr in srs for b in sr["bodySite"]} == {
        "neck",
        "chest",
        "abdomen",
        "pelvis",
    }
    for sr in srs:
        systems = [cd["system"] for cd in sr["code"]["coding"]]
        assert systems == ["http://www.ama-assn.org/go/cpt", kit.MOD]
        assert sr["code"]["coding"][1]["code"] == "mri"
        assert_valid_fhir(sr)


def test_order_after_cross_sectional_imaging_gives_no_card(app, make_token, kit) -> None:
    res = [
        *kit.oms_child_resources(),
        {
            "resourceType": "DiagnosticReport",
            "id": "d1",
            "status": "final",
            "code": {"coding": [{"system": kit.MOD, "code": "whole_body_mri"}]},
            "conclusionCode": [
                {"coding": [{"system": "http://snomed.info/sct", "code": "17621005"}]}
            ],
        },
    ]
    url = "/cds-services/omscds-order-select"
    body = kit.hook_request("order-select", kit.prefetch_for(res), draftOrders=kit.mibg_order())
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    assert r.status_code == 200 and r.json() == {"cards": []}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"hook": "patient-view", "context": {}}, 400),
        ({"hook": "order-select", "hookInstance": "x", "context": {"patientId": "p1"}}, 422),
        ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p1"}}, 412),
    ],
)
def test_bad_calls_get_operation_outcomes(app, make_token, body, status) -> None:
    url = "/cds-services/omscds-patient-view"
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    assert r.status_code == status
    assert r.json()["resourceType"] == "OperationOutcome"


def _issued_card(app, make_token, kit) -> dict[str, Any]:
    url = "/cds-services/omscds-patient-view"
    body = kit.hook_request("patient-view", kit.prefetch_for(kit.oms_child_resources()))
    return call(app, "POST", url, make_token(BASE + url), json=body).json()["cards"][0]


def test_feedback_recorded(app, make_token, schemas, kit) -> None:
    url = "/cds-services/omscds-patient-view/feedback"
    card = _issued_card(app, make_token, kit)
    fb = {
        "feedback": [
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
                "outcomeTimestamp": "2026-01-10T09:00:00Z",
            },
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "system": "https://omscds.org/fhir/CodeSystem/override-reason",
                        "code": "already-done",
                    }
                },
                "outcomeTimestamp": "2026-01-10T09:01:00Z",
            },
        ]
    }
    for item in fb["feedback"]:
        item["card"] = card["uuid"]
        schemas("Feedback").validate(item)
    before = app.state.feedback.summary()["services"].get("omscds-patient-view", {})
    r = call(app, "POST", url, make_token(BASE + url), json=fb)
    assert r.status_code == 200 and r.json() == {"recorded": 2}
    after = app.state.feedback.summary()
    assert after["services"]["omscds-patient-view"]["accepted"] == before.get("accepted", 0) + 1
    assert after["override_reasons"]["already-done"] >= 1
    bad = {
        "feedback": [
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-01-10T09:00:00Z"}
        ]
    }
    assert call(app, "POST", url, make_token(BASE + url), json=bad).status_code == 400
    # a card this service never issued (or another service issued) is refused
    foreign = {"feedback": [{**fb["feedback"][1], "card": "9368d37b-283f-44a0-93ea-547cebab93ed"}]}
    r = call(app, "POST", url, make_token(BASE + url), json=foreign)
    assert r.status_code == 404 and r.json()["issue"][0]["expression"] == ["feedback[0].card"]
    other = "/cds-services/omscds-order-select/feedback"
    r = call(app, "POST", other, make_token(BASE + other), json={"feedback": [fb["feedback"][1]]})
    assert r.status_code == 404


@pytest.mark.parametrize(
    "name", sorted(p.stem.removesuffix(".request") for p in GOLDEN.glob("*.request.json"))
)
def test_golden(app, make_token, schemas, name: str) -> None:
    req = json.loads((GOLDEN / f"{name}.request.json").read_text())
    expected = json.loads((GOLDEN / f"{name}.expected.json").read_text())
    url = f"/cds-services/{expected['service']}"
    r = call(app, "POST", url, make_token(BASE + url), json=req)
    assert r.status_code == 200
    schemas("CdsResponse").validate(r.json())
    got = [
        {
            "indicator": c["indicator"],
            "summary": c["summary"],
            "suggestions": [s["label"] for s in c.get("suggestions", [])],
        }
        for c in r.json()["cards"]
    ]
    assert got == expected["cards"]


def test_fallback_fetch_from_a_real_fhir_server(
    app, signing_keys, make_token, fhir_server, kit
) -> None:
    kit.load_transaction(fhir_server, kit.oms_child_resources("fb-1"))
    url = "/cds-services/omscds-patient-view"
    body = kit.hook_request("patient-view", None)
    body["context"]["patientId"] = "fb-1"
    body["fhirServer"] = fhir_server
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    assert r.status_code == 412  # the server is not on the allow-list: never contacted
    assert "allow-list" in r.json()["issue"][0]["diagnostics"]
    # allow-listed for the token's issuer (the verified `iss`), not for everyone
    app = create_app(
        Settings(
            public_base_url=BASE,
            cds_trusted_issuers={"https://ehr.test.invalid": signing_keys["jwks_path"]},
            cds_fhir_servers={"https://ehr.test.invalid": [fhir_server]},
        )
    )
    url = "/cds-services/omscds-patient-view"
    body = kit.hook_request("patient-view", None)
    body["context"]["patientId"] = "fb-1"
    body["fhirServer"] = fhir_server
    body["fhirAuthorization"] = {
        "access_token": "fhir-test-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "omscds",
    }
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    assert r.status_code == 200, r.text
    assert "OMS criteria met" in r.json()["cards"][0]["summary"]
    body["fhirAuthorization"]["access_token"] = "wrong"
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    assert r.status_code == 412


def test_fallback_has_a_hard_timeout(make_token, signing_keys, kit) -> None:
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(srv.accept()[0]), daemon=True).start()
    app = create_app(
        Settings(
            public_base_url=BASE,
            fhir_fetch_timeout_s=0.3,
            cds_trusted_issuers={"https://ehr.test.invalid": signing_keys["jwks_path"]},
            cds_fhir_servers={"*": [f"http://127.0.0.1:{port}"]},
        )
    )
    url = "/cds-services/omscds-patient-view"
    body = kit.hook_request("patient-view", None)
    body["fhirServer"] = f"http://127.0.0.1:{port}"
    body["fhirAuthorization"] = {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "omscds",
    }
    r = call(app, "POST", url, make_token(BASE + url), json=body)
    srv.close()
    for s in held:
        s.close()
    assert r.status_code == 412
    assert (
        "did not answer" in r.json()["issue"][0]["diagnostics"]
        or "could not be read" in r.json()["issue"][0]["diagnostics"]
    )


def _cards(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return [
        {k: c.get(k) for k in ("indicator", "summary", "detail", "source")}
        for c in r.json()["cards"]
    ]


def test_a_body_over_the_inline_size_runs_in_a_thread_with_the_same_cards(
    app, signing_keys, make_token, kit, monkeypatch
) -> None:
    from omscds.interfaces.api import routes_cds

    threaded = create_app(
        Settings(
            public_base_url=BASE,
            cds_trusted_issuers={"https://ehr.test.invalid": signing_keys["jwks_path"]},
            hook_inline_bytes=0,
        )
    )
    ran_in_thread: list[bool] = []
    real = routes_cds._run_here
    monkeypatch.setattr(routes_cds, "_run_here", lambda c: ran_in_thread.append(True) or real(c))
    url = "/cds-services/omscds-patient-view"
    body = kit.hook_request("patient-view", kit.prefetch_for(kit.oms_child_resources()))
    inline = _cards(call(app, "POST", url, make_token(BASE + url), json=body))
    assert ran_in_thread == []  # a small body: on the event loop
    in_thread = _cards(call(threaded, "POST", url, make_token(BASE + url), json=body))
    assert ran_in_thread == [True]
    assert in_thread == inline and inline
