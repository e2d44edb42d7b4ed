"""Deployment mode against a real OpenID provider (npm ``oidc-provider`` 9, OpenID-certified) and a
real uvicorn server, both on 127.0.0.1. The page logs in with the authorization code flow and
PKCE (driven with httpx, as a browser follows redirects); API clients get JWT access tokens the
way a command-line client would (a public client with PKCE) and send them as bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import httpx
import jwt
import pytest
import uvicorn
from fastapi.testclient import TestClient

from omscds.interfaces.api import Settings, create_app
from omscds.storage import open_registry
from tests.interfaces import authkit

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
AUDIENCE = "urn:omscds:api"
CLI_REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def app_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def provider(app_socket: socket.socket) -> Iterator[str]:
    """Start the OpenID provider (installing it from npm on first use) on a free port."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are required (tools/install-system-deps.sh installs them)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
    port = app_socket.getsockname()[1]
    env = {**os.environ,
           "OMSCDS_OIDC_REDIRECT_URIS": json.dumps([f"http://127.0.0.1:{port}/auth/callback"]),
           "OMSCDS_OIDC_AUDIENCE": AUDIENCE}  # fmt: skip
    proc = subprocess.Popen([node, "server.mjs", "0"], cwd=PROVIDER_DIR, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("LISTENING"):
            raise RuntimeError(f"OpenID provider did not start: {line} {proc.stderr.read()[:800]}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def oidc_settings(provider: str, base: str, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "auth_mode": "oidc",
        "oidc_issuer": provider,
        "oidc_client_id": "omscds-web",
        "oidc_client_secret": "web-secret",
        "oidc_audience": [AUDIENCE],
        "oidc_scopes": "openid profile api",
        "public_base_url": base,
        "session_secret": secrets.token_urlsafe(32),
    }
    return Settings(**{**values, **kw})


@pytest.fixture(scope="module")
def server(
    provider: str, app_socket: socket.socket, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    base = f"http://127.0.0.1:{app_socket.getsockname()[1]}"
    url = f"sqlite:///{tmp_path_factory.mktemp('reg')}/r.sqlite3"
    open_registry(url, create=True).close()
    os.environ["OMSCDS_DATABASE_URL"] = url
    app = create_app(oidc_settings(provider, base))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [app_socket]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        os.environ.pop("OMSCDS_DATABASE_URL", None)


def _log_in_at_provider(
    client: httpx.Client, page: httpx.Response, user: str, *, follow: bool = False
) -> httpx.Response:
    """On the provider's login page, log in as ``user`` (the form the provider rendered)."""
    assert page.status_code == 200, page.text[:300]
    action = re.search(r'action="([^"]+)"', page.text)
    assert action, page.text[:300]
    url = urljoin(str(page.url), action.group(1))
    return client.post(url, data={"login": user}, follow_redirects=follow)


def browser_login(client: httpx.Client, base: str, user: str) -> httpx.Response:
    """What a browser does: open the app's login, log in at the provider, come back."""
    page = client.get(f"{base}/auth/login?next=/", follow_redirects=True)
    return _log_in_at_provider(client, page, user, follow=True)


def cli_access_token(provider: str, user: str) -> str:
    """A JWT access token for ``user``: code flow with PKCE as a public client."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {"client_id": "omscds-cli", "response_type": "code", "redirect_uri": CLI_REDIRECT,
              "scope": "openid api", "state": secrets.token_urlsafe(8),
              "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
              "resource": AUDIENCE}  # fmt: skip
    with httpx.Client(timeout=10) as c:
        page = c.get(f"{provider}/auth?{urlencode(params)}", follow_redirects=True)
        r = _log_in_at_provider(c, page, user)
        while r.is_redirect:
            location = urljoin(str(r.url), r.headers["location"])
            if location.startswith(CLI_REDIRECT):
                code = parse_qs(urlparse(location).query)["code"][0]
                break
            r = c.get(location)
        else:
            raise AssertionError(f"no code: {r.status_code} {r.text[:300]}")
        tok = c.post(f"{provider}/token", data={"grant_type": "authorization_code", "code": code,
                     "redirect_uri": CLI_REDIRECT, "client_id": "omscds-cli",
                     "code_verifier": verifier, "resource": AUDIENCE})  # fmt: skip
    assert tok.status_code == 200, tok.text
    token: str = tok.json()["access_token"]
    return token


def test_page_login_with_code_flow_and_pkce(server: str, provider: str, examples) -> None:
    with httpx.Client(timeout=20) as c:
        # an anonymous browser is sent to log in; an anonymous API call is a 401
        r = c.get(f"{server}/", headers={"accept": "text/html"})
        assert r.status_code == 303 and r.headers["location"].startswith("/auth/login")
        assert c.get(f"{server}/api/v1/kb").status_code == 401
        start = c.get(f"{server}/auth/login", follow_redirects=False)
        auth_url = start.headers["location"]
        q = parse_qs(urlparse(auth_url).query)
        assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) >= 43
        assert auth_url.startswith(provider)
        home = browser_login(c, server, "reg")
        assert home.status_code == 200, home.text[:300]
        assert str(home.url) == f"{server}/"
        session = next(ck for ck in c.cookies.jar if ck.name == "omscds_session")
        assert session.has_nonstandard_attr("HttpOnly")
        csrf = authkit.csrf_of(home.text)
        case = json.dumps(examples["seed1-01-presentation"])
        assert c.post(f"{server}/assess", data={"case_json": case}).status_code == 403  # no CSRF
        r = c.post(f"{server}/assess", data={"case_json": case, "csrf_token": csrf})
        assert r.status_code == 200 and "prob-value" in r.text
        # registrar: may save a visit; not an auditor
        r = c.post(f"{server}/registry/visits", data={"case_json": case, "patient": "OMS-7",
                   "visit_date": "2024-03-05", "csrf_token": csrf}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text[:300]
        assert c.get(f"{server}/api/v1/registry/audit").status_code == 403
        # logging out ends the session
        c.post(f"{server}/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert c.get(f"{server}/api/v1/kb").status_code == 401


def test_a_user_without_a_role_is_refused(server: str) -> None:
    with httpx.Client(timeout=20) as c:
        home = browser_login(c, server, "nobody")
        assert home.status_code == 403
        assert home.headers["content-type"].startswith("application/problem+json")
        assert "clinician" in home.json()["detail"]


def test_a_forged_callback_is_refused(server: str) -> None:
    with httpx.Client(timeout=20) as c:
        c.get(f"{server}/auth/login", follow_redirects=False)  # a login session, then a bad state
        r = c.get(f"{server}/auth/callback?code=x&state=forged")
        assert r.status_code == 401 and "login failed" in r.json()["detail"]
        assert "omscds_session" not in c.cookies


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("aud", "/api/v1/registry/audit", 200),
        ("clin", "/api/v1/registry/audit", 403),
        ("clin", "/api/v1/registry/patients", 200),
        ("aud", "/api/v1/registry/patients", 403),
        ("adm", "/api/v1/registry/export", 200),
        ("reg", "/api/v1/registry/export", 403),
    ],
)
def test_bearer_access_tokens_and_roles(
    server: str, provider: str, user: str, path: str, status: int
) -> None:
    token = cli_access_token(provider, user)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == AUDIENCE and claims["iss"] == provider
    r = httpx.get(server + path, headers=authkit.bearer(token), timeout=20)
    assert r.status_code == status, r.text[:300]
    if status == 403:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_bad_bearer_tokens_are_401(server: str, provider: str) -> None:
    token = cli_access_token(provider, "aud")
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none","kid":"es-1"}').rstrip(b"=").decode()
    for bad in (f"{head}.{forged}.{sig}", f"{none_alg}.{body}.", "not-a-jwt", "x" * 20_000):
        r = httpx.get(f"{server}/api/v1/registry/export", headers=authkit.bearer(bad), timeout=20)
        assert r.status_code == 401, (bad[:20], r.text[:200])
        assert r.headers["www-authenticate"] == "Bearer"
        assert "traceback" not in r.text.lower()


def test_tokens_for_another_audience_are_401(provider: str) -> None:
    token = cli_access_token(provider, "aud")
    app = create_app(oidc_settings(provider, "http://127.0.0.1:1", oidc_audience=["urn:other"]))
    with TestClient(app) as tc:
        r = tc.get("/api/v1/registry/audit", headers=authkit.bearer(token))
    assert r.status_code == 401 and "audience" in r.json()["detail"].lower()
