"""Fuzzing a real server on 127.0.0.1 with authenticated requests: schemathesis over every
operation of the OpenAPI document (API calls with the local token, CDS Hooks calls with a
freshly signed client JWT for the exact endpoint), and a hypothesis body fuzzer that mutates a
valid FHIR Bundle and valid CDS Hooks requests. Not one server error.

CI runs a fixed sample (derandomize) so that a red run is reproducible; set
``OMSCDS_FUZZ_EXAMPLES`` to fuzz harder with random examples locally.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omscds.interfaces.api import create_app
from tests.interfaces import authkit

ISSUER = "https://ehr.fuzz.invalid"
FUZZ_EXAMPLES = int(os.environ.get("OMSCDS_FUZZ_EXAMPLES", "0"))
HPO = "http://human-phenotype-ontology.org"
SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES or 40,
    derandomize=not FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(key.public_key()))
    jwk.update({"kid": "fuzz-1", "alg": "ES384", "use": "sig"})
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return {"key": key, "jwks": str(path)}


@pytest.fixture(scope="module")
def live(signer: dict[str, Any]) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(authkit.settings(public_base_url=base,
                                      cds_trusted_issuers={ISSUER: signer["jwks"]}))  # fmt: skip
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield base
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _headers(signer: dict[str, Any], base: str, path: str) -> dict[str, str]:
    """CDS Hooks calls: a client JWT for this exact URL; everything else: the local token."""
    if not path.startswith("/cds-services"):
        return authkit.bearer()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": base + path, "iat": now, "exp": now + 120,
              "jti": str(uuid.uuid4())}  # fmt: skip
    token = jwt.encode(claims, signer["key"], algorithm="ES384", headers={"kid": "fuzz-1"})
    return {"Authorization": f"Bearer {token}"}


def test_signed_and_local_credentials_are_accepted(live: str, signer: dict[str, Any]) -> None:
    """The fuzzers below reach the routes: their credentials work (else all would be 401)."""
    path = "/cds-services"
    assert httpx.get(live + path, headers=_headers(signer, live, path)).status_code == 200
    assert httpx.get(f"{live}/api/v1/kb", headers=_headers(signer, live, "/api")).status_code == 200


def test_schemathesis_finds_no_server_errors(live: str, signer: dict[str, Any]) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{live}/openapi.json")
    failures: list[str] = []
    seen: dict[str, set[int]] = {}

    def check(operation: Any) -> None:
        @SETTINGS
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            headers = _headers(signer, live, case.formatted_path)
            resp = case.call(base_url=live, timeout=20, headers=headers)
            seen.setdefault(f"{operation.method} {operation.path}", set()).add(resp.status_code)
            if resp.status_code >= 500:
                failures.append(f"{operation.method} {operation.path}: {resp.status_code}")

        run()

    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 15
    for op in operations:
        check(op)
    assert not failures, failures
    # authenticated: most operations answered something other than 401
    authenticated = [k for k, codes in seen.items() if codes - {401}]
    assert len(authenticated) >= len(seen) - 1, seen


# -- hypothesis: mutated FHIR and CDS bodies over HTTP ---------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["Patient", "final", "2024-01-01", "HP:0010543", "Patient/p1", "mibg"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _resources() -> list[dict[str, Any]]:
    def obs(oid: str, code: str, value: bool) -> dict[str, Any]:
        return {"resourceType": "Observation", "id": oid, "status": "final",
                "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": HPO, "code": code}]}, "valueBoolean": value}  # fmt: skip

    return [
        {"resourceType": "Patient", "id": "p1", "birthDate": "2024-05-01", "gender": "female"},
        obs("o1", "HP:0010543", True),
        obs("o2", "HP:0001251", True),
        obs("o3", "HP:0001336", False),
    ]


def _bundle() -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in _resources()]}  # fmt: skip


def _hook() -> dict[str, Any]:
    ss = {"resourceType": "Bundle", "type": "searchset"}
    res = _resources()
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": {
            "patient": res[0],
            "observations": {**ss, "entry": [{"resource": r} for r in res[1:]]},
            "conditions": {**ss, "entry": []},
            "reports": {**ss, "entry": []},
            "studies": {**ss, "entry": []},
        },
    }


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, data: st.DataObject, n: int) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(n):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = data.draw(_json)
    return doc


def test_the_valid_bodies_are_assessed(live: str, signer: dict[str, Any]) -> None:
    r = httpx.post(f"{live}/fhir/$assess", json=_bundle(), headers=authkit.bearer(), timeout=20)
    assert r.status_code == 200, r.text[:300]
    path = "/cds-services/omscds-patient-view"
    r = httpx.post(live + path, json=_hook(), headers=_headers(signer, live, path), timeout=20)
    assert r.status_code == 200 and r.json()["cards"], r.text[:300]


def test_mutated_fhir_and_cds_bodies_are_never_server_errors(
    live: str, signer: dict[str, Any]
) -> None:
    failures: list[str] = []
    with httpx.Client(base_url=live, timeout=20) as c:

        @SETTINGS
        @given(data=st.data(), n=st.integers(min_value=1, max_value=4))
        def run(data: st.DataObject, n: int) -> None:
            bundle = _mutate(_bundle(), data, n)
            r = c.post("/fhir/$assess", json=bundle, headers=authkit.bearer())
            if r.status_code >= 500:
                failures.append(f"FHIR {r.status_code}: {json.dumps(bundle)[:200]}")
            hook = _mutate(_hook(), data, n)
            for path in ("/cds-services/omscds-patient-view",
                         "/cds-services/omscds-patient-view/feedback"):  # fmt: skip
                r = c.post(path, json=hook, headers=_headers(signer, live, path))
                if r.status_code >= 500:
                    failures.append(f"{path} {r.status_code}: {json.dumps(hook)[:200]}")

        run()
    assert not failures, failures[:5]
