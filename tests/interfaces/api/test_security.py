"""The trust boundary in local mode: who may call what, CSRF, headers, logs, the error table and
bodies that are too large, too slow, too deep or from the future. In process where the app
alone decides; against a real uvicorn server where sockets matter (chunked, slow bodies)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from omscds.errors import InputError, NotFoundError, OmscdsError, StorageError
from omscds.interfaces.api import Settings, create_app
from omscds.interfaces.api.problems import ERROR_TABLE, BodyError, Forbidden, lookup
from omscds.interop.cdshooks import PrefetchError
from omscds.storage import open_registry
from tests.interfaces import authkit

#: open to anyone: liveness, readiness and metrics (no PHI; OMSCDS_METRICS_TOKEN closes it,
#: tests/interfaces/api/test_ops.py), the schema, the login pages and static files
OPEN = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/login", "/static/{name}",
        "/auth/login", "/auth/callback"}  # fmt: skip
DEEP = "[" * 100_000 + "]" * 100_000
FUTURE = (dt.date.today() + dt.timedelta(days=30)).isoformat()


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(authkit.settings(max_request_bytes=50_000))


def _routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app serves (included routers walked through)."""
    out = []
    for r in app.routes:
        contexts = r.effective_route_contexts() if hasattr(r, "effective_route_contexts") else [r]
        for ctx in contexts:
            if isinstance(getattr(ctx, "methods", None), set) and ctx.path not in OPEN:
                out += [(m, ctx.path) for m in sorted(ctx.methods - {"HEAD"})]
    return sorted(set(out))


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "OMS-1", path).replace("{service_id}", "omscds-patient-view")


def test_every_route_but_health_and_login_needs_credentials(app: Any) -> None:
    routes = _routes(app)
    assert len(routes) >= 20, routes
    c = TestClient(app)
    for method, path in routes:
        url = _fill(path).replace("OMS-1", "omscds-patient-view") if "cds" in path else _fill(path)
        for headers in (
            {},
            authkit.bearer("wrong-token-wrong-token"),
            {"Authorization": "Basic x"},
        ):
            r = c.request(method, url, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["www-authenticate"] == "Bearer"
    assert c.get("/healthz").status_code == 200
    assert c.get("/openapi.json").status_code == 200


def test_forged_or_foreign_session_cookies_are_401(app: Any) -> None:
    c = TestClient(app)
    c.cookies.set("omscds_session", "eyJzdWIiOiJsb2NhbCJ9.forged.sig")
    assert c.get("/api/v1/kb").status_code == 401
    # a cookie signed by another server (another secret) is not a session here
    foreign = create_app(Settings(local_token=authkit.TOKEN))
    fc = TestClient(foreign)
    authkit.log_in(fc)
    c2 = TestClient(app)
    c2.cookies.set("omscds_session", fc.cookies["omscds_session"])
    assert c2.get("/api/v1/kb").status_code == 401


def test_login_with_the_printed_url_sets_a_strict_httponly_cookie(app: Any) -> None:
    c = TestClient(app)
    r = c.get("/login?token=nope", headers={"accept": "text/html"})
    assert r.status_code == 401 and "not this server" in r.text
    r = c.get(f"/login?token={authkit.TOKEN}&next=//evil.example/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    anonymous = TestClient(app).get("/", headers={"accept": "text/html"})
    assert anonymous.status_code == 401 and 'name="token"' in anonymous.text
    https = create_app(authkit.settings(public_base_url="https://omscds.example"))
    r = TestClient(https).get(f"/login?token={authkit.TOKEN}", follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]


def test_csrf_on_every_cookie_authenticated_change(app: Any, examples: dict[str, Any]) -> None:
    c = TestClient(app)
    token = authkit.log_in(c)
    case = json.dumps(examples["seed1-01-presentation"])
    assert c.post("/assess", data={"case_json": case}).status_code == 403
    assert c.post("/assess", data={"case_json": case, "csrf_token": "x" * 32}).status_code == 403
    assert c.post("/assess", data={"case_json": case, "csrf_token": token}).status_code == 200
    body = {"case": examples["seed1-01-presentation"], "next_test": 0, "result": "negative"}
    assert c.post("/api/whatif", json=body).status_code == 403
    assert c.post("/api/whatif", json=body, headers={"X-CSRF-Token": token}).status_code == 200
    r = c.post("/api/v1/assess", json=examples["seed1-01-presentation"])
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    # a bearer client carries no ambient authority: no CSRF token needed
    api = authkit.api_client(app)
    assert api.post("/api/v1/assess", json=examples["seed1-01-presentation"]).status_code == 200
    # every state-changing form on the page carries the token
    page = c.post("/assess", data={"case_json": case, "csrf_token": token}).text
    forms = re.findall(r'<form method="post".*?</form>', page, flags=re.S)
    assert len(forms) >= 4
    assert all(f'name="csrf_token" value="{token}"' in f for f in forms)


def test_security_headers_on_every_response(app: Any) -> None:
    c = authkit.browser_client(app)
    for r in (c.get("/"), c.get("/static/app.js"), c.get("/nowhere"), TestClient(app).get("/"),
              c.post("/api/v1/assess", content=b"x" * 60_000)):  # fmt: skip
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in r.headers
    embedded = authkit.api_client(
        frame_ancestors=["https://ehr.example.org"], public_base_url="https://cds.example.org"
    )
    r = embedded.get("/healthz")
    assert "frame-ancestors https://ehr.example.org" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers
    assert r.headers["strict-transport-security"].startswith("max-age=")
    with pytest.raises(ValueError):
        Settings(frame_ancestors=["https://ehr.example; script-src *"])


def test_pages_carry_no_inline_script_or_style(app: Any, examples: dict[str, Any]) -> None:
    c = authkit.browser_client(app)
    case = json.dumps(examples["seed1-02-mibg-negative"])
    for html in (c.get("/").text, c.post("/assess", data={"case_json": case}).text,
                 TestClient(app).get("/", headers={"accept": "text/html"}).text):  # fmt: skip
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\son[a-z]+\s*=", html)
        assert "<style" not in html and not re.search(r'\sstyle="', html)
        assert "javascript:" not in html


def test_roles_are_enforced_per_route(monkeypatch: pytest.MonkeyPatch) -> None:
    import omscds.interfaces.api.auth as auth_mod
    from omscds.interfaces.api.auth import Principal

    c = TestClient(create_app(authkit.settings()))
    for roles, path, allowed in [
        (("clinician",), "/api/v1/registry/audit", False),
        (("auditor",), "/api/v1/registry/audit", True),
        (("auditor",), "/api/v1/registry/patients", False),
        (("registrar",), "/api/v1/registry/export", False),
        (("admin",), "/api/v1/registry/export", True),
        (("auditor",), "/api/v1/kb", True),
        (("auditor",), "/api/v1/assess", False),
        ((), "/", False),
    ]:

        async def fake(request: Any, roles: tuple[str, ...] = roles) -> Principal:
            return Principal("u", frozenset(roles), "test", "bearer")

        monkeypatch.setattr(auth_mod, "authenticate", fake)
        r = c.post(path, json={}) if path.endswith("assess") else c.get(path)
        assert (r.status_code != 403) is allowed, (roles, path, r.status_code, r.text[:200])
        if not allowed:
            assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InputError("x"), 422),
        (NotFoundError("x"), 404),
        (BodyError("x"), 400),
        (Forbidden("x"), 403),
        (PrefetchError("x"), 412),
        (StorageError("x"), 503),
        (OmscdsError("x"), 500),
        (RecursionError(), 500),
    ],
)
def test_error_table_is_looked_up_along_the_mro(exc: BaseException, status: int) -> None:
    assert lookup(exc).status == status
    assert all(issubclass(t, BaseException) for t in ERROR_TABLE)


def test_the_same_error_has_the_same_status_everywhere(app: Any) -> None:
    api = authkit.api_client(app)
    bad = {"age_months": 19, "tests": [{"modality": "mibg", "result": "postive"}]}
    assert api.post("/api/v1/assess", json=bad).status_code == 422
    assert api.post("/api/whatif", json={"case": bad, "next_test": 0,
                                         "result": "negative"}).status_code == 422  # fmt: skip
    for url in ("/api/v1/assess", "/api/whatif", "/fhir/$assess", "/api/v1/registry/import"):
        r = api.post(url, content=b'{"a": 1, "a": 2}', headers={"content-type": "application/json"})
        assert r.status_code == 400, (url, r.text[:200])


def test_deep_huge_and_ambiguous_json_is_4xx_everywhere(app: Any) -> None:
    api = authkit.api_client(app)
    web = authkit.browser_client(app)
    small = create_app(authkit.settings(max_request_bytes=1_000_000, insecure_dev=True))
    cds = TestClient(small)
    deep = "[" * 20_000 + "]" * 20_000  # 10^5 would be over this app's 50 kB limit: 413
    for body in (deep, '{"age_months": 1' + "0" * 5000 + "}", '{"age_months": NaN}'):
        for url in ("/api/v1/assess", "/api/v1/validate", "/api/v1/import/phenopacket",
                    "/fhir/$assess", "/api/whatif", "/api/v1/registry/import",
                    "/api/v1/registry/patients/OMS-1/visits"):  # fmt: skip
            r = api.post(url, content=body, headers={"content-type": "application/json"})
            assert 400 <= r.status_code < 500, (url, body[:20], r.status_code, r.text[:200])
        for url in ("/assess", "/whatif", "/report.pdf", "/registry/visits"):
            r = web.post(url, data={"case_json": body, "patient": "OMS-1", "whatif": "0",
                                    "whatif_result": "negative"})  # fmt: skip
            assert 400 <= r.status_code < 500, (url, body[:20], r.status_code, r.text[:200])
            assert "Traceback" not in r.text
    for url in ("/cds-services/omscds-patient-view", "/cds-services/omscds-patient-view/feedback"):
        r = cds.post(url, content=DEEP, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_future_dated_tests_are_refused_on_every_face(app: Any, examples: dict[str, Any]) -> None:
    case = {**examples["seed1-01-presentation"]}
    case.pop("visit_date", None)
    case["tests"] = [{"modality": "mibg", "result": "negative", "date": FUTURE}]
    api = authkit.api_client(app)
    for url in ("/api/v1/assess", "/api/v1/validate"):
        r = api.post(url, json=case)
        assert r.status_code == 422 and "tests[0].date" in [e["path"] for e in r.json()["errors"]]
    web = authkit.browser_client(app)
    r = web.post("/assess", data={"case_json": json.dumps(case)})
    assert r.status_code == 422 and 'id="f-tests-0--date-error"' in r.text
    r = web.post("/api/whatif", json={"case": case, "next_test": 0, "result": "negative"})
    assert r.status_code == 422


def test_huge_offsets_are_4xx(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    open_registry(url, create=True).close()
    monkeypatch.setenv("OMSCDS_DATABASE_URL", url)
    a = create_app(authkit.settings())
    api = authkit.api_client(a)
    for off in (10**30, -1, 2**63):
        for path in ("/api/v1/registry/patients", "/api/v1/registry/audit",
                     "/api/v1/registry/patients/OMS-1/visits", "/registry"):  # fmt: skip
            r = api.get(path, params={"offset": off})
            assert r.status_code == 422, (path, off, r.status_code)


def test_a_newer_registry_schema_is_a_clear_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "newer.sqlite3"
    open_registry(f"sqlite:///{db}", create=True).close()
    with sqlite3.connect(db) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    monkeypatch.setenv("OMSCDS_DATABASE_URL", f"sqlite:///{db}")
    api = authkit.api_client()
    r = api.get("/api/v1/registry/patients")
    assert r.status_code == 503 and "upgrade omscds" in r.json()["detail"]
    assert r.headers["retry-after"]
    page = authkit.browser_client().get("/registry")
    assert page.status_code == 503 and "schema revision" in page.text


def test_access_log_is_json_with_hashed_patient_keys(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = authkit.api_client(app)
    with caplog.at_level(logging.INFO, logger="omscds.access"):
        api.get(
            "/api/v1/registry/patients/OMS-SECRET-42/visits?token=leak",
            headers={"X-Request-ID": "req-1"},
        )
        TestClient(app).get(f"/login?token={authkit.TOKEN}", follow_redirects=False)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "omscds.access"]
    assert len(lines) == 2
    first = lines[0]
    assert first["request_id"] == "req-1" and first["method"] == "GET"
    assert first["via"] == "bearer" and first["iss"] == "local"
    assert isinstance(first["latency_ms"], float) and first["status"] in (200, 404, 503)
    assert re.fullmatch(r"/api/v1/registry/patients/~[0-9a-f]{16}/visits", first["path"])
    text = caplog.text
    assert "OMS-SECRET-42" not in text and "leak" not in text and authkit.TOKEN not in text


# -- against a real server: bodies over the socket ------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = authkit.settings(public_base_url=base, max_request_bytes=20_000, body_timeout_s=1.0,
                                pdf_workers=1, pdf_queue=0, registry_busy_timeout_s=0.5)  # fmt: skip
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
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


def _raw(base: str, request: bytes, *, trickle: float | None = None) -> tuple[bytes, float]:
    host, port = base.removeprefix("http://").split(":")
    t0 = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        if trickle is None:
            s.sendall(request)
        else:
            s.sendall(request[:-5])
            time.sleep(trickle)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data, time.monotonic() - t0


def test_chunked_oversized_bodies_are_413(live: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b" " * 1000

    r = httpx.post(f"{live}/api/v1/assess", content=chunks(), timeout=10,
                   headers={**authkit.bearer(), "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and r.json()["status"] == 413
    r = httpx.post(
        f"{live}/fhir/$assess", content=b" " * 30_000, timeout=10, headers=authkit.bearer()
    )
    assert r.status_code == 413
    # before authentication too: nobody can make the server read a huge body
    r = httpx.post(f"{live}/api/v1/assess", content=chunks(), timeout=10)
    assert r.status_code == 413


def test_bodies_that_never_finish_are_408(live: str) -> None:
    port = live.rsplit(":", 1)[1]
    request = (f"POST /api/v1/assess HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Content-Type: application/json\r\nContent-Length: 100\r\n"
               f"Authorization: Bearer {authkit.TOKEN}\r\n\r\n" + '{"age_months": 19}').encode()  # fmt: skip
    data, took = _raw(live, request, trickle=None)
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert 0.8 < took < 5
    assert httpx.get(f"{live}/healthz", timeout=5).status_code == 200


def test_pdfs_are_bounded_and_healthz_stays_fast(live: str, examples: dict[str, Any]) -> None:
    async def go() -> tuple[list[httpx.Response], list[float]]:
        async with httpx.AsyncClient(base_url=live, timeout=60, headers=authkit.bearer()) as c:
            await c.get("/healthz")
            data = {"case_json": json.dumps(examples["seed1-02-mibg-negative"])}
            pdfs = [asyncio.create_task(c.post("/report.pdf", data=data)) for _ in range(4)]
            lat: list[float] = []
            while not all(p.done() for p in pdfs):
                t0 = time.perf_counter()
                assert (await c.get("/healthz")).status_code == 200
                lat.append(time.perf_counter() - t0)
                await asyncio.sleep(0.02)
            return [p.result() for p in pdfs], lat

    responses, lat = asyncio.run(go())
    statuses = sorted(r.status_code for r in responses)
    assert 200 in statuses and 503 in statuses, statuses
    busy = next(r for r in responses if r.status_code == 503)
    assert int(busy.headers["retry-after"]) > 0
    ok = next(r for r in responses if r.status_code == 200)
    assert ok.content.startswith(b"%PDF")
    lat.sort()
    assert lat[int(len(lat) * 0.9)] < 0.5, lat[-5:]


def test_a_locked_sqlite_registry_is_a_bounded_503(
    live: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the live server opened no registry yet: point it at one and hold its write lock
    import omscds.storage.database as database

    url = database.resolve_url(None)
    assert url and url.startswith("sqlite:///")
    assert (
        httpx.get(f"{live}/api/v1/registry/patients", headers=authkit.bearer()).status_code == 200
    )
    con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=1)
    con.execute("BEGIN IMMEDIATE")
    try:
        t0 = time.monotonic()
        r = httpx.post(f"{live}/api/v1/registry/patients", json={"key": "OMS-77"},
                       headers=authkit.bearer(), timeout=20)  # fmt: skip
        took = time.monotonic() - t0
        assert httpx.get(f"{live}/healthz", timeout=2).status_code == 200
    finally:
        con.rollback()
        con.close()
    assert r.status_code == 503, r.text
    assert "busy" in r.json()["detail"] and r.headers["retry-after"]
    assert took < 5


def test_serve_prints_a_token_url_and_refuses_other_interfaces(tmp_path: Path) -> None:
    omscds = [sys.executable, "-m", "omscds.interfaces.cli.main"]
    bad = subprocess.run([*omscds, "serve", "--host", "0.0.0.0"], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "loopback" in bad.stderr and "Traceback" not in bad.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*omscds, "serve", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        line = proc.stdout.readline()
        assert line.startswith("open: http://127.0.0.1:"), line
        url = line.split()[1]
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with httpx.Client(timeout=10) as c:
            assert c.get(f"http://127.0.0.1:{port}/api/v1/kb").status_code == 401
            home = c.get(url, follow_redirects=True)
            assert home.status_code == 200 and 'name="csrf-token"' in home.text
            assert c.get(f"http://127.0.0.1:{port}/api/v1/kb").status_code == 200
            token = url.split("token=")[1]
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/kb",
                             headers=authkit.bearer(token)).status_code == 200  # fmt: skip
    finally:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
    for line in err.splitlines():
        if line.startswith("{"):
            assert token not in line
