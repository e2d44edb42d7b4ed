"""Several workers: the CDS JWT replay cache and key-set reads shared on a real Redis, real
``omscds serve`` processes on loopback, PostgreSQL as their registry, and what ``--workers N``
refuses."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from omscds.errors import AuthError
from omscds.interfaces.api.shared import RedisState
from omscds.interfaces.cli.main import main
from omscds.interop.cdshooks import JwtVerifier
from tests.interfaces import authkit
from tests.interfaces.api import live

PUBLIC = "http://omscds.test"  # the proxy's URL: the aud every worker checks against
HOOK = "/cds-services/omscds-patient-view"


def _env(signer: live.Signer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "OMSCDS_LOCAL_TOKEN": authkit.TOKEN,
        "OMSCDS_PUBLIC_BASE_URL": PUBLIC,
        "OMSCDS_CDS_TRUSTED_ISSUERS": signer.trusted(),
        "OMSCDS_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
        **extra,
    }


def _call(base: str, token: str) -> httpx.Response:
    return httpx.post(base + HOOK, json=live.hook_body(), timeout=30,
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def test_a_token_used_on_one_worker_is_refused_on_another(
    redis_server: live.RedisServer, pg_url: str, signer: live.Signer, tmp_path: Path
) -> None:
    env = _env(signer, tmp_path, OMSCDS_REDIS_URL=redis_server.url, OMSCDS_DATABASE_URL=pg_url)
    with (
        live.Serve(env, log=tmp_path / "a.log") as a,
        live.Serve(env, log=tmp_path / "b.log") as b,
    ):
        token = signer.token(PUBLIC + HOOK)
        first = _call(a.base, token)
        assert first.status_code == 200, first.text
        assert first.json()["cards"], "the call is answered with cards"
        again = _call(b.base, token)
        assert again.status_code == 401
        assert "replayed" in again.json()["detail"]
        assert _call(a.base, token).status_code == 401  # and on the first worker too
        # a fresh token is accepted by either
        assert _call(b.base, signer.token(PUBLIC + HOOK)).status_code == 200
        for server in (a, b):
            ready = httpx.get(server.base + "/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {
                "knowledge_base": "ok", "database": "ok", "redis": "ok"
            }  # fmt: skip


def test_without_shared_state_each_process_would_accept_a_replay(signer: live.Signer) -> None:
    """What the shared cache is for: two apps with in-process caches both accept one token."""
    token = signer.token(PUBLIC + HOOK)
    settings = {"public_base_url": PUBLIC,
                "cds_trusted_issuers": json.loads(signer.trusted())}  # fmt: skip
    for _ in range(2):
        client = TestClient(authkit.app(**settings))
        r = client.post(HOOK, json=live.hook_body(), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200


def _pids(metrics_dir: Path) -> set[str]:
    return {p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("*.db")}


def test_serve_with_two_workers_shares_replays_and_metrics(
    redis_server: live.RedisServer, pg_url: str, signer: live.Signer, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = _env(signer, tmp_path, OMSCDS_REDIS_URL=redis_server.url, OMSCDS_DATABASE_URL=pg_url,
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))  # fmt: skip
    with live.Serve(env, "--workers", "2", log=tmp_path / "serve.log") as server:
        # /healthz answered by the first worker up; wait for the second (each writes its
        # knowledge-base gauge when its app is built)
        deadline = time.monotonic() + 90
        while len(_pids(metrics_dir)) < 2:
            assert time.monotonic() < deadline, f"one worker only: {server.log()[-2000:]}"
            time.sleep(0.1)
        tokens = [signer.token(PUBLIC + HOOK) for _ in range(12)]
        for token in tokens:  # each call on a new connection: the kernel picks the worker
            assert _call(server.base, token).status_code == 200
        for token in tokens:
            r = _call(server.base, token)
            assert r.status_code == 401 and "replayed" in r.json()["detail"]
        text = httpx.get(server.base + "/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    hook = families["omscds_cds_hook_duration_seconds"]
    counts = [s for s in hook.samples if s.name.endswith("_count")]
    assert sum(s.value for s in counts) == 12  # summed over both workers
    assert all(s.labels["service"] == "omscds-patient-view" for s in counts)
    cards = [s for s in families["omscds_cds_cards"].samples if s.name.endswith("_total")]
    assert sum(s.value for s in cards) == 12 and {s.labels["indicator"] for s in cards} == {
        "warning"
    }
    errors = [s for s in families["omscds_errors"].samples if s.name.endswith("_total")]
    assert {(s.labels["type"], s.labels["status"], s.value) for s in errors} == {
        ("AuthError", "401", 12.0)
    }
    routes = {s.labels["route"] for s in families["omscds_http_request_duration_seconds"].samples}
    assert "/cds-services/{service_id}" in routes and HOOK not in routes


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "OMSCDS_REDIS_URL"),
        ({"OMSCDS_REDIS_URL": "redis://127.0.0.1:9/0"}, "PostgreSQL"),
        (
            {
                "OMSCDS_REDIS_URL": "redis://127.0.0.1:9/0",
                "OMSCDS_DATABASE_URL": "postgresql://x@127.0.0.1:9/x",
            },
            "OMSCDS_FEEDBACK_DB",
        ),
    ],
)
def test_several_workers_are_refused_without_what_they_share(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str],
    message: str,
) -> None:  # fmt: skip
    for name in ("OMSCDS_REDIS_URL", "OMSCDS_DATABASE_URL", "OMSCDS_FEEDBACK_DB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--workers", "2"]) == 2
    assert message in capsys.readouterr().err


def test_key_set_reads_are_shared_between_workers(
    redis_server: live.RedisServer, signer: live.Signer
) -> None:
    """One worker's read of the issuer's key set serves the others (one read per interval
    for the whole deployment)."""
    served: list[str] = []
    document = signer.jwks_path.read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(str(request.url))
        return httpx.Response(200, content=document)

    location = f"https://ehr.test.invalid/jwks-{id(served)}.json"
    state = RedisState(redis_server.url, prefix=f"omscds-test-{id(served)}:")
    workers = [
        JwtVerifier(
            {live.ISSUER: location},
            jwks_transport=httpx.MockTransport(handler),
            shared_replay=state,
            shared_key_sets=state,
        )
        for _ in range(3)
    ]

    async def go() -> None:
        for worker in workers:
            await worker.verify(f"Bearer {signer.token(PUBLIC + HOOK)}", PUBLIC + HOOK)
        token = signer.token(PUBLIC + HOOK)
        await workers[0].verify(f"Bearer {token}", PUBLIC + HOOK)
        with pytest.raises(AuthError, match="replayed"):
            await workers[2].verify(f"Bearer {token}", PUBLIC + HOOK)
        await state.aclose()

    asyncio.run(go())
    assert served == [location]  # read once, by the first worker
    assert [w.jwks.fetches for w in workers] == [1, 0, 0]


def test_an_unreachable_redis_refuses_cds_calls_with_503(signer: live.Signer) -> None:
    """A replay check that cannot be made refuses the call (never accepts it, never a 500)."""
    app = authkit.app(public_base_url=PUBLIC, cds_trusted_issuers=json.loads(signer.trusted()),
                      redis_url=f"redis://127.0.0.1:{live.free_port()}/0")  # fmt: skip
    r = TestClient(app).post(HOOK, json=live.hook_body(),
                             headers={"Authorization": f"Bearer {signer.token(PUBLIC + HOOK)}"})  # fmt: skip
    assert r.status_code == 503, r.text
    assert "Redis" in r.json()["issue"][0]["diagnostics"]
