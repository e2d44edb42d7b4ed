"""Fixtures for interop tests: FHIR bundles, JWT keys made in the test, a real FHIR server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

FHIR_SERVER_DIR = Path(__file__).parent / "fhir_server"
#: outside reference material (real data, specs) beside the checkout; CI has it
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def shared_file(relative: str) -> Path:
    """A file under ``../shared``, or skip the test with a one-line reason naming it."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference material missing: ../shared/{relative}")
    return path


ISSUER = "https://ehr.test.invalid"
BASE = "http://127.0.0.1:8000"
HPO = "http://human-phenotype-ontology.org"
MOD = "https://omscds.org/fhir/CodeSystem/modality"
REGION_EXT = "https://omscds.org/fhir/StructureDefinition/body-region"


def finding_obs(oid: str, hpo: str, present: bool, pid: str = "p1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": HPO, "code": hpo}]},
        "valueBoolean": present,
    }


def oms_child_resources(pid: str = "p1", *, birth: str = "2024-05-01") -> list[dict[str, Any]]:
    """A toddler with opsoclonus, ataxia, irritability, no myoclonus; normal urine VMA."""
    return [
        {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": "female"},
        finding_obs("o1", "HP:0010543", True, pid),
        finding_obs("o2", "HP:0001251", True, pid),
        finding_obs("o3", "HP:0000737", True, pid),
        finding_obs("o4", "HP:0001336", False, pid),
        {
            "resourceType": "Observation",
            "id": "u1",
            "status": "final",
            "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "3124-5"}]},
            "valueQuantity": {"value": 8, "unit": "mg/g{creat}"},
            "interpretation": [{"coding": [{"code": "N"}]}],
            "effectiveDateTime": "2026-01-02",
        },
    ]


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def prefetch_for(resources: list[dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by.setdefault(r["resourceType"], []).append(r)
    return {
        "patient": by["Patient"][0],
        "observations": searchset(by.get("Observation", [])),
        "conditions": searchset(by.get("Condition", [])),
        "reports": searchset(by.get("DiagnosticReport", [])),
        "studies": searchset(by.get("ImagingStudy", [])),
    }


def hook_request(hook: str, prefetch: dict[str, Any] | None, **context: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/u1", "patientId": "p1", **context},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def mibg_order(oid: str = "sr1") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": oid,
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"coding": [{"system": MOD, "code": "mibg"}]},
                }
            }
        ],
    }


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """ES384 and RS384 key pairs made here, and the issuer's JWKS written to a file."""
    es = ec.generate_private_key(ec.SECP384R1())
    rs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": []}
    for kid, key, alg in (("es-1", es, "ES384"), ("rs-1", rs, "RS384")):
        algo = jwt.get_algorithm_by_name(alg)
        jwk = json.loads(algo.to_jwk(key.public_key()))
        jwk.update({"kid": kid, "alg": alg, "use": "sig"})
        jwks["keys"].append(jwk)
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps(jwks))
    return {"ES384": ("es-1", es), "RS384": ("rs-1", rs), "jwks_path": str(path), "jwks": jwks}


@pytest.fixture
def make_token(signing_keys: dict[str, Any]) -> Callable[..., str]:
    def make(aud: str, *, alg: str = "ES384", iss: str = ISSUER, **claims: Any) -> str:
        kid, key = signing_keys[alg]
        now = int(time.time())
        payload = {"iss": iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})

    return make


# -- a real FHIR R4 server (Medplum fhir-router) on loopback ---------------------------------


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are required (tools/install-system-deps.sh installs them)")
    if not (FHIR_SERVER_DIR / "node_modules" / "@medplum" / "fhir-router").exists():
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=FHIR_SERVER_DIR,
            check=True,
            capture_output=True,
            timeout=300,
        )
    env = {**os.environ, "OMSCDS_TEST_FHIR_TOKEN": "fhir-test-token"}
    proc = subprocess.Popen(
        [node, "server.js", "0"],
        cwd=FHIR_SERVER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the server prints its port
        if not line.startswith("LISTENING"):
            raise RuntimeError(f"FHIR server did not start: {line} {proc.stderr.read()[:500]}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load_transaction(base: str, resources: list[dict[str, Any]]) -> None:
    """Load resources with their ids (PUT) in one transaction Bundle."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }
    resp = httpx.post(
        base,
        json=bundle,
        headers={"Authorization": "Bearer fhir-test-token"},
        timeout=30,
    )
    resp.raise_for_status()
    assert resp.json()["type"] == "transaction-response"


@pytest.fixture(scope="session")
def kit() -> Any:
    """The builders above, for tests (conftest modules are not importable by tests)."""
    import types

    return types.SimpleNamespace(
        ISSUER=ISSUER,
        BASE=BASE,
        HPO=HPO,
        MOD=MOD,
        REGION_EXT=REGION_EXT,
        finding_obs=finding_obs,
        oms_child_resources=oms_child_resources,
        searchset=searchset,
        prefetch_for=prefetch_for,
        hook_request=hook_request,
        mibg_order=mibg_order,
        load_transaction=load_transaction,
        shared_file=shared_file,
    )
