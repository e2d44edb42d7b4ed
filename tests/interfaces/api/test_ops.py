"""Operations: /healthz, /readyz against real Redis and PostgreSQL (then stopped), /metrics
scraped from a real server and parsed with prometheus_client's parser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.interfaces import authkit
from tests.interfaces.api import live

PUBLIC = "http://omscds.test"
HOOK = "/cds-services/omscds-patient-view"


@pytest.fixture
def own_redis() -> Iterator[live.RedisServer]:
    """A Redis of this test alone (it is stopped in the middle)."""
    server = live.start_redis()
    try:
        yield server
    finally:
        server.stop()


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_healthz_is_alive_and_readyz_ready_without_dependencies(kb: Any) -> None:
    client = TestClient(authkit.app())
    assert client.get("/healthz").json()["kb_version"] == kb.version
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "kb_version": kb.version,
                        "checks": {"knowledge_base": "ok"}}  # fmt: skip


def test_readyz_fails_when_redis_stops(own_redis: live.RedisServer, pg_url: str) -> None:
    client = TestClient(authkit.app(redis_url=own_redis.url, database_url=pg_url))
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"knowledge_base": "ok", "database": "ok", "redis": "ok"}
    own_redis.stop()
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("/not-ready") and body["detail"] == "not ready: redis down"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] != "ok"
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_readyz_fails_when_the_database_is_unreachable(redis_server: live.RedisServer) -> None:
    pg = live.start_postgres()
    try:
        url = pg.create_database("ready")
        client = TestClient(authkit.app(redis_url=redis_server.url, database_url=url))
        assert client.get("/readyz").status_code == 200
        pg.stop()
        r = client.get("/readyz")
    finally:
        pg.stop()
    assert r.status_code == 503
    body = r.json()
    assert body["detail"] == "not ready: database down"
    assert body["checks"]["redis"] == "ok" and body["checks"]["database"].startswith("unreachable")
    assert "postgres@" not in json.dumps(body)  # no URL, no credentials


def test_readyz_names_every_dependency_down() -> None:
    port = live.free_port()  # nothing listens there
    client = TestClient(authkit.app(redis_url=f"redis://127.0.0.1:{port}/0",
                                    database_url=f"postgresql://u@127.0.0.1:{port}/x"))  # fmt: skip
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["detail"] == "not ready: database, redis down"


def test_metrics_label_route_templates_never_raw_paths(kb: Any, tmp_path: Path) -> None:
    client = authkit.api_client(database_url=f"sqlite:///{tmp_path / 'r.sqlite3'}")
    secret_key = "PATIENT-KEY-7781"
    client.get(f"/api/v1/registry/patients/{secret_key}")  # 404: no such patient
    client.get(f"/no/such/{secret_key}")
    text = client.get("/metrics").text
    assert secret_key not in text
    families = _families(text)
    routes = {s.labels["route"] for s in families["omscds_http_request_duration_seconds"].samples}
    assert "/api/v1/registry/patients/{key}" in routes
    assert "(unmatched)" in routes
    info = families["omscds_knowledge_base_info"].samples[0]
    assert info.labels["version"] == kb.version and info.labels["sha256"] == kb.sha256
    errors = {s.labels["type"] for s in families["omscds_errors"].samples}
    assert "NotFoundError" in errors


def test_metrics_token_closes_metrics() -> None:
    token = "metrics-token-0123456789"
    client = TestClient(authkit.app(metrics_token=token))
    assert client.get("/metrics").status_code == 401
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    )
    r = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "omscds_knowledge_base_info" in r.text


def test_metrics_scraped_from_a_real_server(signer: live.Signer, tmp_path: Path) -> None:
    env = {"OMSCDS_LOCAL_TOKEN": authkit.TOKEN, "OMSCDS_PUBLIC_BASE_URL": PUBLIC,
           "OMSCDS_CDS_TRUSTED_ISSUERS": signer.trusted()}  # fmt: skip
    with live.Serve(env, log=tmp_path / "serve.log") as server:
        for _ in range(3):
            r = httpx.post(server.base + HOOK, json=live.hook_body(), timeout=30,
                           headers={"Authorization": f"Bearer {signer.token(PUBLIC + HOOK)}"})  # fmt: skip
            assert r.status_code == 200
        bad = httpx.post(server.base + HOOK, json=live.hook_body(), timeout=30,
                         headers={"Authorization": "Bearer not-a-jwt"})  # fmt: skip
        assert bad.status_code == 401
        r = httpx.get(server.base + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = _families(r.text)
    hook = [s for s in families["omscds_cds_hook_duration_seconds"].samples
            if s.name.endswith("_count")]  # fmt: skip
    assert [(s.labels["service"], s.value) for s in hook] == [("omscds-patient-view", 3.0)]
    cards = [s for s in families["omscds_cds_cards"].samples if s.name.endswith("_total")]
    assert [(s.labels["indicator"], s.value) for s in cards] == [("warning", 3.0)]
    requests = families["omscds_http_request_duration_seconds"].samples
    by_status = {
        s.labels["status"]: s.value
        for s in requests
        if s.name.endswith("_count") and s.labels["route"] == "/cds-services/{service_id}"
    }
    assert by_status == {"200": 3.0, "401": 1.0}
    assert ("AuthError", "401") in {
        (s.labels["type"], s.labels["status"]) for s in families["omscds_errors"].samples
    }


def test_readyz_does_not_create_a_missing_sqlite_registry(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "registry.sqlite3"
    r = TestClient(authkit.app(database_url=f"sqlite:///{missing}")).get("/readyz")
    assert (
        r.status_code == 503
        and r.json()["checks"]["database"] == "unreachable: no such SQLite file"
    )
    assert not missing.exists() and not missing.parent.exists()
