"""Authenticating CDS clients: the signed JWT in ``Authorization: Bearer`` (CDS Hooks §Security).

Checks, in order: a token of at most :data:`MAX_TOKEN_BYTES`; an ``alg`` on the allow-list
(ES384, RS384; never ``none`` or HMAC); a trusted ``iss``; a ``jku`` (if sent) that is the
issuer's configured key-set location or on its optional ``jku`` allow-list (a ``jku`` is never
fetched: keys come only from the configured location, a pinned file or URL); the ``kid`` in the
issuer's key set, whose key type must match ``alg`` (an EC P-384 key for ES384, an RSA key for
RS384); the signature; ``aud`` (one of the endpoint URLs under the configured public base URLs);
``exp``; ``iat`` (not in the future, not too old); a lifetime (``exp - iat`` and ``exp - now``)
of at most ``max_lifetime``; and a ``jti`` not seen before. Every failure, including malformed
keys and tokens, raises :class:`AuthError` (HTTP 401) with a short reason; tokens are never
logged.

Key sets are cached per issuer for ``ttl`` seconds. An unknown ``kid`` may mean a rotated key,
so the set is re-read, but at most once per ``min_interval`` seconds per issuer, and an unknown
``kid`` is remembered (negative cache) for ``negative_ttl`` seconds: a flood of made-up kids
costs at most one fetch per interval, not one per request. Concurrent requests in one event
loop share one fetch. The replay cache forgets a ``jti`` once its token can no longer be
accepted (``exp`` plus the leeway), so it never holds more than ``max_lifetime`` of traffic.

One process keeps this state in memory (local mode). Several workers share it through two
small stores the service injects (``interfaces.api.shared`` implements them on Redis): a
:class:`SharedReplay`, so that a ``jti`` used on one worker is refused on every other, and a
:class:`SharedKeySets`, so that one worker's read of a key set serves the others and the
rate limit on reads holds for the whole deployment, not per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

from omscds.errors import AuthError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "MAX_TOKEN_BYTES",
    "JwksCache",
    "JwtVerifier",
    "ReplayCache",
    "SharedKeySets",
    "SharedReplay",
    "TrustedKey",
]

ALLOWED_ALGORITHMS: tuple[str, ...] = ("ES384", "RS384")
#: a CDS client JWT is about 1 KB; anything past this is refused before it is parsed
MAX_TOKEN_BYTES = 16 * 1024
#: the JWK a key must be for each algorithm: (kty, crv or None)
_KEY_SHAPE: dict[str, tuple[str, str | None]] = {"ES384": ("EC", "P-384"), "RS384": ("RSA", None)}
#: a key set larger than this is refused (a JWKS of a few keys is a few KB)
MAX_JWKS_BYTES = 256 * 1024
_MAX_CLAIM_TIME = 1e11  # about the year 5000: anything larger is not a time


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


@dataclass(frozen=True)
class TrustedKey:
    """One usable key of an issuer's set: the parsed key and what its JWK says it is for."""

    kid: str
    key: jwt.PyJWK
    kty: str
    crv: str | None
    alg: str | None

    def fits(self, alg: str) -> bool:
        """Whether this key may verify an ``alg`` token (its type, curve and declared alg)."""
        kty, crv = _KEY_SHAPE[alg]
        return self.kty == kty and (crv is None or self.crv == crv) and self.alg in (None, alg)


def _usable_key(jwk: Any) -> TrustedKey | None:
    """``(kid, key)`` for a signature key we could ever accept; None for anything else."""
    if not isinstance(jwk, dict):
        return None
    kid, kty = jwk.get("kid"), jwk.get("kty")
    if not isinstance(kid, str) or not kid or kty not in ("EC", "RSA"):
        return None  # "oct" (shared secrets), OKP and unknown types are never used
    if kty == "EC" and jwk.get("crv") != "P-384":
        return None
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "") not in ("", *ALLOWED_ALGORITHMS):
        return None
    try:
        parsed = jwt.PyJWK.from_dict(jwk)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
    return TrustedKey(kid, parsed, str(kty), jwk.get("crv"), jwk.get("alg"))


def _parse_jwks(data: Any) -> dict[str, TrustedKey]:
    keys: dict[str, TrustedKey] = {}
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWK set")
    for entry in entries:
        usable = _usable_key(entry)
        if usable is not None:
            keys.setdefault(usable.kid, usable)
    return keys


class SharedReplay(Protocol):
    """A replay cache every worker shares."""

    async def claim(self, iss: str, jti: str, until: float) -> None:
        """Remember ``(iss, jti)`` until ``until`` (epoch seconds); AuthError if already
        claimed, by any worker."""


class SharedKeySets(Protocol):
    """Key-set documents and read permits every worker shares."""

    async def load(self, issuer: str) -> bytes | None:
        """The key-set document another worker read recently, if any."""

    async def save(self, issuer: str, document: bytes, ttl: float) -> None:
        """Offer a freshly read document to the other workers for ``ttl`` seconds."""

    async def permit(self, issuer: str, interval: float) -> bool:
        """Whether this worker may read the issuer's source now: at most one read per
        ``interval`` seconds across all workers."""


@dataclass
class JwksCache:
    """Key sets per trusted issuer, from a file path or an http(s) URL (see the module doc)."""

    locations: Mapping[str, str]
    ttl: float = 300.0
    timeout: float = 2.0
    #: fewest seconds between two reads of one issuer's key set
    min_interval: float = 10.0
    #: how long an unknown kid is answered from memory
    negative_ttl: float = 300.0
    max_negative: int = 4096
    clock: Callable[[], float] = time.monotonic
    transport: httpx.AsyncBaseTransport | None = None
    #: state shared with other workers (None: this process only)
    shared: SharedKeySets | None = None
    #: reads done so far (file or URL), for tests and metrics
    fetches: int = 0
    _cache: dict[str, tuple[float, dict[str, TrustedKey]]] = field(default_factory=dict)
    _attempted: dict[str, float] = field(default_factory=dict)
    _unknown: dict[tuple[str, str], float] = field(default_factory=dict)
    _inflight: dict[str, asyncio.Task[dict[str, TrustedKey]]] = field(default_factory=dict)

    async def _fetch(self, issuer: str) -> bytes:
        """The key-set document from the issuer's configured location."""
        location = self.locations[issuer]
        self.fetches += 1
        if _is_url(location):
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                resp = await client.get(location, follow_redirects=False)
                resp.raise_for_status()
                if len(resp.content) > MAX_JWKS_BYTES:
                    raise ValueError("key set too large")
                return resp.content
        return Path(location).read_bytes()

    async def _document(self, issuer: str) -> bytes:
        """Read the source, or (with shared state) take the document another worker read
        within ``min_interval`` when the deployment-wide permit is taken."""
        if self.shared is None:
            return await self._fetch(issuer)
        if await self.shared.permit(issuer, self.min_interval):
            document = await self._fetch(issuer)
            if len(document) <= MAX_JWKS_BYTES:
                await self.shared.save(issuer, document, max(self.ttl, self.min_interval))
            return document
        shared = await self.shared.load(issuer)
        if shared is None:  # another worker holds the permit and has not saved a set
            raise AuthError("the issuer's key set is unavailable (retry later)")
        return shared

    async def _read(self, issuer: str) -> dict[str, TrustedKey]:
        try:
            keys = _parse_jwks(json.loads(await self._document(issuer)))
        except (OSError, ValueError, RecursionError, httpx.HTTPError) as exc:
            raise AuthError(f"the issuer's key set is unavailable ({type(exc).__name__})") from None
        self._cache[issuer] = (self.clock(), keys)
        # the set changed: kids remembered as unknown may be known now
        self._unknown = {k: v for k, v in self._unknown.items() if k[0] != issuer}
        return keys

    def _running(self, issuer: str) -> asyncio.Task[dict[str, TrustedKey]] | None:
        """A read of ``issuer``'s set already under way in this event loop, if any."""
        task = self._inflight.get(issuer)
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            return None
        return task

    def _may_fetch(self, issuer: str) -> bool:
        last = self._attempted.get(issuer)
        return last is None or self.clock() - last >= self.min_interval

    async def _refresh(self, issuer: str) -> dict[str, TrustedKey] | None:
        """Join the read under way, or start one if the rate limit allows; None if neither."""
        task = self._running(issuer)
        if task is None:
            if not self._may_fetch(issuer):
                return None
            self._attempted[issuer] = self.clock()
            task = asyncio.get_running_loop().create_task(self._read(issuer))
            self._inflight[issuer] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and self._inflight.get(issuer) is task:
                del self._inflight[issuer]

    async def keys(self, issuer: str) -> dict[str, TrustedKey]:
        """``kid -> key`` for ``issuer``: cached, re-read after ``ttl`` (rate-limited)."""
        hit = self._cache.get(issuer)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        try:
            fresh = await self._refresh(issuer)
        except AuthError:
            if hit is None:
                raise
            fresh = None  # keep verifying with the last good set while the source is down
        if fresh is not None:
            return fresh
        if hit is not None:
            return hit[1]  # stale, but re-read too recently: serve what we have
        raise AuthError("the issuer's key set is unavailable (retry later)")

    async def key(self, issuer: str, kid: str) -> TrustedKey | None:
        """The key ``kid`` of ``issuer``, re-reading the set for a new kid (rate-limited)."""
        now = self.clock()
        until = self._unknown.get((issuer, kid))
        if until is not None and until > now:
            return None
        keys = await self.keys(issuer)
        if kid not in keys:  # perhaps a rotated key: re-read, if the rate limit allows
            with contextlib.suppress(AuthError):  # a failed re-read keeps the set we have
                keys = await self._refresh(issuer) or keys
        found = keys.get(kid)
        if found is None:
            if len(self._unknown) >= self.max_negative:
                self._unknown = {k: v for k, v in self._unknown.items() if v > now}
                while len(self._unknown) >= self.max_negative:
                    del self._unknown[next(iter(self._unknown))]
            self._unknown[(issuer, kid)] = now + self.negative_ttl
        return found


@dataclass
class ReplayCache:
    """Seen ``(iss, jti)`` pairs, each forgotten when its token stops being acceptable."""

    clock: Callable[[], float] = time.time
    max_entries: int = 200_000
    _seen: dict[tuple[str, str], float] = field(default_factory=dict)
    _expiry: list[tuple[float, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._seen)

    def prune(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        while self._expiry and self._expiry[0][0] <= now:
            until, iss, jti = heapq.heappop(self._expiry)
            if self._seen.get((iss, jti)) == until:
                del self._seen[(iss, jti)]

    def check_and_add(self, iss: str, jti: str, until: float) -> None:
        """Refuse a ``jti`` seen before; remember it until ``until`` (epoch seconds)."""
        now = self.clock()
        self.prune(now)
        key = (iss, jti)
        if key in self._seen:
            raise AuthError("token replayed (jti already used)")
        if len(self._seen) >= self.max_entries:
            raise AuthError("too many live tokens (retry later)")
        self._seen[key] = until
        heapq.heappush(self._expiry, (until, iss, jti))

    async def claim(self, iss: str, jti: str, until: float) -> None:
        """:meth:`check_and_add`, as a :class:`SharedReplay` of one process."""
        self.check_and_add(iss, jti, until)


def _claim_time(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"claim {name!r} is not a time")
    number = float(value) if abs(value) < _MAX_CLAIM_TIME else math.inf
    if not math.isfinite(number):
        raise AuthError(f"claim {name!r} is not a time")
    return number


@dataclass
class JwtVerifier:
    """Verifies CDS client JWTs for the issuers in ``trusted`` (``iss -> key-set location``).

    ``jku_allowlist`` maps an issuer to further ``jku`` values its clients may send (e.g. the
    sandbox's published URL while its keys are pinned in a file); they are accepted, never
    fetched.
    """

    trusted: Mapping[str, str]
    jku_allowlist: Mapping[str, Sequence[str]] = field(default_factory=dict)
    jwks_ttl: float = 300.0
    max_age: float = 300.0
    #: longest accepted token lifetime, ``exp - iat`` and ``exp - now`` (seconds)
    max_lifetime: float = 300.0
    leeway: float = 30.0
    clock: Callable[[], float] = time.time
    jwks_min_interval: float = 10.0
    jwks_transport: httpx.AsyncBaseTransport | None = None
    #: replay cache shared by every worker (None: :attr:`replay`, this process only)
    shared_replay: SharedReplay | None = None
    #: key-set state shared by every worker (None: this process only)
    shared_key_sets: SharedKeySets | None = None
    jwks: JwksCache = field(init=False)
    replay: ReplayCache = field(init=False)

    def __post_init__(self) -> None:
        self.jwks = JwksCache(
            self.trusted,
            ttl=self.jwks_ttl,
            min_interval=self.jwks_min_interval,
            transport=self.jwks_transport,
            shared=self.shared_key_sets,
        )
        self.replay = ReplayCache(clock=self.clock)

    def _check_jku(self, iss: str, jku: Any) -> None:
        if jku is None:
            return
        allowed = {self.trusted[iss], *self.jku_allowlist.get(iss, ())}
        if not isinstance(jku, str) or jku not in allowed:
            raise AuthError("jku is not the issuer's registered key set")

    async def verify(
        self, authorization: str | None, audience: str | Sequence[str]
    ) -> dict[str, Any]:
        """Verify an ``Authorization`` header value for ``audience`` (one URL or several
        accepted ones); return the claims."""
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("missing bearer token")
        token = authorization.removeprefix("Bearer ").strip()
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthError("token too large")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            raise AuthError("malformed token") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            shown = alg if isinstance(alg, str | None) else type(alg).__name__
            raise AuthError(f"algorithm {shown!r} not allowed (use ES384 or RS384)")
        iss = unverified.get("iss")
        if not isinstance(iss, str) or iss not in self.trusted:
            raise AuthError("issuer not trusted")
        self._check_jku(iss, header.get("jku"))
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise AuthError("kid missing from the token header")
        key = await self.jwks.key(iss, kid)
        if key is None:
            raise AuthError("unknown kid for this issuer")
        if not key.fits(alg):
            # e.g. RS384 with the kid of an EC key: refused before PyJWT could trip over it
            raise AuthError(f"the key for this kid is not an {alg} key")
        claims = self._decode(token, key.key, alg, iss, audience)
        now = self.clock()
        iat, exp = _claim_time(claims, "iat"), _claim_time(claims, "exp")
        if iat > now + self.leeway:
            raise AuthError("iat is in the future")
        if now - iat > self.max_age + self.leeway:
            raise AuthError("token too old (iat)")
        if (
            exp - iat > self.max_lifetime + self.leeway
            or exp - now > self.max_lifetime + self.leeway
        ):
            raise AuthError(f"token lifetime over {self.max_lifetime:.0f} s (exp too late)")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise AuthError("claim 'jti' is not a short string")
        if self.shared_replay is not None:
            await self.shared_replay.claim(iss, jti, exp + self.leeway)
        else:
            self.replay.check_and_add(iss, jti, exp + self.leeway)
        return claims

    def _decode(
        self, token: str, key: jwt.PyJWK, alg: str, iss: str, audience: str | Sequence[str]
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience if isinstance(audience, str) else list(audience),
                issuer=iss,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("wrong audience") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"claim {exc.claim!r} missing") from None
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            # any other failure, including a key PyJWT cannot use, is a 401, never a 500
            raise AuthError("invalid signature or claims") from None
        return claims
