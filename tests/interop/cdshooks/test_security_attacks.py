"""The CDS client JWT under attack (issue 12 failure 4 and Build 6; issue 11 item 5): every
attack is a clean AuthError (HTTP 401), key sets are fetched at a bounded rate, lifetimes are
bounded, the replay cache forgets expired tokens. The attacks that already held stay here as
regression tests."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from omscds.errors import AuthError
from omscds.interop.cdshooks.security import MAX_TOKEN_BYTES, JwtVerifier, ReplayCache

ISSUER = "https://ehr.test.invalid"
AUD = "http://127.0.0.1:8000/cds-services"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    # a fresh thread has no running event loop, whatever other tests left in the main thread
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    out = {"iss": ISSUER, "aud": AUD, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    out.update(over)
    return {k: v for k, v in out.items() if v is not None}


def sign(key: Any, alg: str, kid: str, headers: dict[str, Any] | None = None, **over: Any) -> str:
    return jwt.encode(claims(**over), key, algorithm=alg, headers={"kid": kid, **(headers or {})})


def unsigned(header: dict[str, Any], body: dict[str, Any], sig: bytes = b"x") -> str:
    h, b = b64(json.dumps(header).encode()), b64(json.dumps(body).encode())
    return f"{h}.{b}.{b64(sig)}"


@pytest.fixture
def verifier(signing_keys: dict[str, Any]) -> JwtVerifier:
    return JwtVerifier({ISSUER: signing_keys["jwks_path"]})


def refused(v: JwtVerifier, token: str, reason: str, audience: Any = AUD) -> None:
    with pytest.raises(AuthError) as err:
        run(v.verify(f"Bearer {token}", audience))
    assert err.value.message.startswith(reason), err.value.message


def accepted(v: JwtVerifier, token: str, audience: Any = AUD) -> dict[str, Any]:
    return run(v.verify(f"Bearer {token}", audience))


class CountingJwks:
    """An httpx transport serving one JWKS and counting the requests it gets."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return httpx.Response(200, json=self.jwks)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


# -- key type / algorithm mismatches: 401, never 500 ----------------------------------------
@pytest.mark.parametrize(("alg", "kid"), [("RS384", "es-1"), ("ES384", "rs-1")])
def test_algorithm_and_key_type_mismatch_is_refused(
    verifier: JwtVerifier, signing_keys: dict[str, Any], alg: str, kid: str
) -> None:
    key = signing_keys[alg][1]
    refused(verifier, sign(key, alg, kid), f"the key for this kid is not an {alg} key")


def test_key_declared_for_another_alg_is_refused(
    tmp_path: Path, signing_keys: dict[str, Any]
) -> None:
    jwks = json.loads(json.dumps(signing_keys["jwks"]))
    jwks["keys"][1]["alg"] = "PS384"  # an RSA key, but not for RS384: never used
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    v = JwtVerifier({ISSUER: str(path)})
    refused(v, sign(signing_keys["RS384"][1], "RS384", "rs-1"), "unknown kid")
    accepted(v, sign(signing_keys["ES384"][1], "ES384", "es-1"))


def test_oct_and_malformed_keys_in_the_set_are_ignored(
    tmp_path: Path, signing_keys: dict[str, Any]
) -> None:
    jwks = json.loads(json.dumps(signing_keys["jwks"]))
    jwks["keys"] += [
        {"kty": "oct", "kid": "oct-1", "k": b64(b"shared secret")},
        {"kty": "EC", "kid": "ec-bad"},  # no curve, no coordinates
        {"kty": "EC", "kid": "ec-256", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "rsa-bad", "n": 5},
        "not a key",
    ]
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    v = JwtVerifier({ISSUER: str(path)})
    rs = signing_keys["RS384"][1]
    for kid in ("oct-1", "ec-bad", "ec-256", "rsa-bad"):
        refused(v, sign(rs, "RS384", kid), "unknown kid")
    secret = hmac.new(b"shared secret", b"", hashlib.sha256).digest()
    refused(v, sign(secret, "HS256", "oct-1"), "algorithm 'HS256' not allowed")
    accepted(v, sign(rs, "RS384", "rs-1"))  # the good keys still work


def test_mismatch_through_the_service_is_a_401(signing_keys: dict[str, Any]) -> None:
    from omscds.interfaces.api import Settings, create_app

    app = create_app(
        Settings(
            public_base_url="http://127.0.0.1:8000",
            cds_trusted_issuers={ISSUER: signing_keys["jwks_path"]},
        )
    )
    token = sign(signing_keys["RS384"][1], "RS384", "es-1")

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as c:
            return await c.get("/cds-services", headers={"Authorization": f"Bearer {token}"})

    r = run(go())
    assert r.status_code == 401
    assert "traceback" not in r.text.lower() and len(r.text) < 1000


# -- key-set fetches: rate-limited, negative cache, single flight ----------------------------
def _url_verifier(signing_keys: dict[str, Any], **kw: Any) -> tuple[JwtVerifier, CountingJwks]:
    served = CountingJwks(signing_keys["jwks"])
    v = JwtVerifier(
        {ISSUER: "https://ehr.test.invalid/jwks.json"}, jwks_transport=served.transport(), **kw
    )
    return v, served


def test_unknown_kids_do_not_cause_a_fetch_each(signing_keys: dict[str, Any]) -> None:
    v, served = _url_verifier(signing_keys)
    es = signing_keys["ES384"][1]
    accepted(v, sign(es, "ES384", "es-1"))
    assert len(served.urls) == 1
    for _ in range(200):
        refused(v, sign(es, "ES384", f"kid-{uuid.uuid4()}"), "unknown kid")
    assert len(served.urls) == 1  # re-reads are at most one per min_interval (10 s)
    accepted(v, sign(es, "ES384", "es-1"))


def test_concurrent_unknown_kids_share_one_fetch(signing_keys: dict[str, Any]) -> None:
    v, served = _url_verifier(signing_keys)
    es = signing_keys["ES384"][1]

    async def flood() -> list[Any]:
        tokens = [sign(es, "ES384", f"kid-{i}") for i in range(200)]
        return await asyncio.gather(
            *(v.verify(f"Bearer {t}", AUD) for t in tokens), return_exceptions=True
        )

    results = run(flood())
    assert all(isinstance(r, AuthError) for r in results)
    assert len(served.urls) == 1


def test_concurrent_first_requests_wait_for_the_one_read(signing_keys: dict[str, Any]) -> None:
    v, served = _url_verifier(signing_keys)
    es = signing_keys["ES384"][1]

    async def burst() -> list[Any]:
        tokens = [sign(es, "ES384", "es-1") for _ in range(50)]
        return await asyncio.gather(*(v.verify(f"Bearer {t}", AUD) for t in tokens))

    assert all(c["iss"] == ISSUER for c in run(burst()))  # none refused while the set loads
    assert len(served.urls) == 1


def test_a_rotated_key_is_picked_up_after_the_interval(signing_keys: dict[str, Any]) -> None:
    v, served = _url_verifier(signing_keys)
    now = [1000.0]
    v.jwks.clock = lambda: now[0]
    v.jwks.negative_ttl = 5
    es = signing_keys["ES384"][1]
    accepted(v, sign(es, "ES384", "es-1"))
    new_key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(new_key.public_key()))
    served.jwks = {"keys": [*signing_keys["jwks"]["keys"], {**jwk, "kid": "es-2"}]}
    refused(v, sign(new_key, "ES384", "es-2"), "unknown kid")  # too soon after the last read
    now[0] += 3
    refused(v, sign(new_key, "ES384", "es-2"), "unknown kid")  # answered from the negative cache
    assert len(served.urls) == 1
    now[0] += 8
    accepted(v, sign(new_key, "ES384", "es-2"))
    assert len(served.urls) == 2


def test_untrusted_jku_and_x5u_are_never_fetched(signing_keys: dict[str, Any]) -> None:
    v, served = _url_verifier(signing_keys)
    attacker = ec.generate_private_key(ec.SECP384R1())
    for headers in (
        {"jku": "http://127.0.0.1:9/evil-jwks.json"},
        {"x5u": "http://127.0.0.1:9/evil.pem"},
        {"jwk": json.loads(jwt.get_algorithm_by_name("ES384").to_jwk(attacker.public_key()))},
    ):
        with pytest.raises(AuthError):
            run(v.verify(f"Bearer {sign(attacker, 'ES384', 'es-1', headers)}", AUD))
    assert all(u == "https://ehr.test.invalid/jwks.json" for u in served.urls)


# -- jku allow-list with a pinned key-set file (the sandbox always sends jku) ----------------
def test_pinned_issuer_accepts_an_allow_listed_jku_without_fetching(
    signing_keys: dict[str, Any],
) -> None:
    served = CountingJwks({"keys": []})
    es = signing_keys["ES384"][1]
    token = sign(es, "ES384", "es-1", {"jku": SANDBOX_JKU})
    plain = JwtVerifier({ISSUER: signing_keys["jwks_path"]}, jwks_transport=served.transport())
    refused(plain, token, "jku is not the issuer's registered key set")
    allowed = JwtVerifier(
        {ISSUER: signing_keys["jwks_path"]},
        jku_allowlist={ISSUER: [SANDBOX_JKU]},
        jwks_transport=served.transport(),
    )
    accepted(allowed, token)
    other = sign(es, "ES384", "es-1", {"jku": "https://sandbox.cds-hooks.org.evil/jwks.json"})
    refused(allowed, other, "jku is not the issuer's registered key set")
    assert served.urls == []  # the keys came from the pinned file; no jku was ever fetched


# -- audience: any of the configured public base URLs --------------------------------------
def test_audience_may_be_any_configured_endpoint_url(
    verifier: JwtVerifier, signing_keys: dict[str, Any]
) -> None:
    es = signing_keys["ES384"][1]
    auds = [AUD, "https://cds.example.org/cds-services"]
    accepted(verifier, sign(es, "ES384", "es-1", aud="https://cds.example.org/cds-services"), auds)
    refused(verifier, sign(es, "ES384", "es-1", aud="https://evil.example/cds-services"), "wrong audience", auds)  # fmt: skip


# -- lifetime and replay ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("over", "ok"),
    [
        ({}, True),
        ({"exp_in": 3600}, False),
        ({"exp_in": 32503680000 - int(time.time())}, False),  # the year 3000
        ({"iat_ago": 120, "exp_in": 300}, False),  # exp - iat = 420 s
        ({"iat_ago": 120, "exp_in": 180}, True),
    ],
)
def test_token_lifetime_is_bounded(
    verifier: JwtVerifier, signing_keys: dict[str, Any], over: dict[str, int], ok: bool
) -> None:
    now = int(time.time())
    token = sign(
        signing_keys["ES384"][1],
        "ES384",
        "es-1",
        iat=now - over.get("iat_ago", 0),
        exp=now + over.get("exp_in", 300),
    )
    if ok:
        accepted(verifier, token)
    else:
        refused(verifier, token, "token lifetime over 300 s")


def test_max_lifetime_is_a_setting(signing_keys: dict[str, Any]) -> None:
    v = JwtVerifier({ISSUER: signing_keys["jwks_path"]}, max_lifetime=3600)
    now = int(time.time())
    accepted(v, sign(signing_keys["ES384"][1], "ES384", "es-1", exp=now + 3600))


def test_replay_cache_forgets_tokens_once_they_expire() -> None:
    now = [1_000_000.0]
    cache = ReplayCache(clock=lambda: now[0])
    for i in range(1000):
        cache.check_and_add(ISSUER, f"j{i}", now[0] + 300)
    with pytest.raises(AuthError, match="replayed"):
        cache.check_and_add(ISSUER, "j5", now[0] + 300)
    assert len(cache) == 1000
    now[0] += 301
    cache.prune()
    assert len(cache) == 0
    cache.check_and_add(ISSUER, "j5", now[0] + 300)  # an expired token is refused by exp anyway


def test_replayed_token_is_refused_within_its_lifetime(
    verifier: JwtVerifier, signing_keys: dict[str, Any]
) -> None:
    token = sign(signing_keys["ES384"][1], "ES384", "es-1")
    accepted(verifier, token)
    refused(verifier, token, "token replayed")
    assert len(verifier.replay) == 1


# -- the attacks that held before, kept as regression tests -------------------------------
def _hs256_with_public_key(signing_keys: dict[str, Any]) -> str:
    pub = (
        signing_keys["RS384"][1]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rs-1"}).encode())
    body = b64(json.dumps(claims()).encode())
    sig = hmac.new(pub, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


ATTACKS: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "alg-none": (lambda k: unsigned({"alg": "none", "kid": "es-1"}, claims(), b""), "algorithm 'none'"),
    "alg-None-case": (lambda k: unsigned({"alg": "None", "kid": "es-1"}, claims()), "algorithm 'None'"),
    "alg-list": (lambda k: unsigned({"alg": ["ES384"], "kid": "es-1"}, claims()), "algorithm 'list'"),
    "hs256-public-key": (_hs256_with_public_key, "algorithm 'HS256' not allowed"),
    "forged-key-same-kid": (
        lambda k: sign(ec.generate_private_key(ec.SECP384R1()), "ES384", "es-1"),
        "invalid signature",
    ),
    "signature-stripped": (lambda k: sign(k["ES384"][1], "ES384", "es-1").rsplit(".", 1)[0] + ".", "invalid signature"),
    "expired": (lambda k: sign(k["ES384"][1], "ES384", "es-1", iat=int(time.time()) - 900, exp=int(time.time()) - 600), "token expired"),
    "wrong-audience": (lambda k: sign(k["ES384"][1], "ES384", "es-1", aud="https://evil.example/"), "wrong audience"),
    "no-audience": (lambda k: sign(k["ES384"][1], "ES384", "es-1", aud=None), "claim 'aud' missing"),
    "untrusted-issuer": (lambda k: sign(k["ES384"][1], "ES384", "es-1", iss="https://evil.example"), "issuer not trusted"),
    "issuer-not-text": (lambda k: unsigned({"alg": "ES384", "kid": "es-1"}, claims(iss={"a": 1})), "issuer not trusted"),
    "kid-not-text": (lambda k: unsigned({"alg": "ES384", "kid": 7}, claims()), "malformed token"),
    "jti-not-text": (lambda k: sign(k["ES384"][1], "ES384", "es-1", jti={"x": 1}), "invalid signature or claims"),
    "exp-huge": (lambda k: sign(k["ES384"][1], "ES384", "es-1", exp=10**400), "claim 'exp' is not a time"),
    "iat-text": (lambda k: sign(k["ES384"][1], "ES384", "es-1", iat="now"), "invalid signature or claims"),
    "exp-nan": (lambda k: unsigned({"alg": "ES384", "kid": "es-1"}, {**claims(), "exp": float("nan")}), "invalid signature or claims"),
    "deep-json": (lambda k: b64(b'{"alg":"ES384","x":' + b"[" * 5000 + b"]" * 5000 + b"}") + ".e30.x", "malformed token"),
    "one-megabyte": (lambda k: sign(k["ES384"][1], "ES384", "es-1", pad="A" * 1_000_000), "token too large"),
    "garbage": (lambda k: "not.a.jwt", "malformed token"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_held_attacks_stay_refused(
    verifier: JwtVerifier, signing_keys: dict[str, Any], name: str
) -> None:
    make, reason = ATTACKS[name]
    token = make(signing_keys)
    refused(verifier, token, reason)


def test_token_size_limit_is_generous_for_real_tokens(
    verifier: JwtVerifier, signing_keys: dict[str, Any]
) -> None:
    token = sign(signing_keys["RS384"][1], "RS384", "rs-1", fhirUser="Practitioner/" + "x" * 2000)
    assert len(token) < MAX_TOKEN_BYTES
    accepted(verifier, token)


# -- the settings, end to end through the service (the sandbox scenario) --------------------
def test_service_settings_jku_allowlist_audiences_and_lifetime(
    signing_keys: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from omscds.interfaces.api import Settings, create_app

    monkeypatch.setenv(
        "OMSCDS_CDS_TRUSTED_ISSUERS", json.dumps({ISSUER: signing_keys["jwks_path"]})
    )
    monkeypatch.setenv("OMSCDS_CDS_JKU_ALLOWLIST", json.dumps({ISSUER: [SANDBOX_JKU]}))
    monkeypatch.setenv("OMSCDS_PUBLIC_BASE_URLS", json.dumps(["https://cds.example.org/"]))
    monkeypatch.setenv("OMSCDS_JWT_MAX_LIFETIME_S", "120")
    app = create_app(Settings(public_base_url="http://127.0.0.1:8000"))
    es = signing_keys["ES384"][1]

    def status(token: str) -> int:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
            ) as c:
                return await c.get("/cds-services", headers={"Authorization": f"Bearer {token}"})

        return run(go()).status_code

    now = int(time.time())
    sandbox = {"jku": SANDBOX_JKU}
    assert status(sign(es, "ES384", "es-1", sandbox, exp=now + 100)) == 200
    other = "https://cds.example.org/cds-services"
    assert status(sign(es, "ES384", "es-1", sandbox, aud=other, exp=now + 100)) == 200
    assert status(sign(es, "ES384", "es-1", sandbox, aud="https://evil.example/cds-services")) == 401  # fmt: skip
    assert status(sign(es, "ES384", "es-1", sandbox, exp=now + 300)) == 401  # over 120 s
