"""Authenticating CDS clients: the signed JWT in ``Authorization: Bearer`` (CDS Hooks §Security).

Checks, in order: an ``alg`` on the allow-list (ES384, RS384; never ``none`` or HMAC), a
trusted ``iss``, a ``jku`` (if sent) equal to that issuer's configured JWKS location (we never
fetch an arbitrary ``jku``), the ``kid`` in the issuer's JWKS (cached), the signature, the exact
``aud`` (the endpoint URL), ``exp``, ``iat`` (not in the future, not too old) and a ``jti`` not
seen before (a replay cache kept for the token lifetime). Failures raise AuthError with a short
reason; tokens are never logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt

from omscds.errors import AuthError

__all__ = ["ALLOWED_ALGORITHMS", "JwksCache", "JwtVerifier", "ReplayCache"]

ALLOWED_ALGORITHMS: tuple[str, ...] = ("ES384", "RS384")


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


@dataclass
class JwksCache:
    """JWKS per trusted issuer, from a file path or an http(s) URL, cached for ``ttl`` seconds."""

    locations: Mapping[str, str]
    ttl: float = 300.0
    timeout: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    async def keys(self, issuer: str, *, refresh: bool = False) -> dict[str, Any]:
        """``kid -> PyJWK`` for ``issuer``; ``refresh`` re-reads (for a rotated key)."""
        location = self.locations[issuer]
        hit = self._cache.get(issuer)
        if hit and not refresh and self.clock() - hit[0] < self.ttl:
            return hit[1]
        try:
            if _is_url(location):
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    resp = await client.get(location, follow_redirects=False)
                    resp.raise_for_status()
                    data = resp.json()
            else:
                data = json.loads(Path(location).read_text(encoding="utf-8"))
            keys = {}
            for jwk in data.get("keys", []):
                if isinstance(jwk, dict) and jwk.get("kid"):
                    keys[str(jwk["kid"])] = jwt.PyJWK.from_dict(jwk)
        except (OSError, ValueError, httpx.HTTPError, jwt.PyJWTError) as exc:
            raise AuthError(f"the issuer's key set is unavailable ({type(exc).__name__})") from None
        self._cache[issuer] = (self.clock(), keys)
        return keys


@dataclass
class ReplayCache:
    """Seen ``(iss, jti)`` pairs until their token expires."""

    clock: Callable[[], float] = time.time
    _seen: dict[tuple[str, str], float] = field(default_factory=dict)

    def check_and_add(self, iss: str, jti: str, exp: float) -> None:
        now = self.clock()
        if len(self._seen) > 1024:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
        key = (iss, jti)
        if key in self._seen and self._seen[key] > now:
            raise AuthError("token replayed (jti already used)")
        self._seen[key] = exp


@dataclass
class JwtVerifier:
    trusted: Mapping[str, str]
    jwks_ttl: float = 300.0
    max_age: float = 300.0
    leeway: float = 30.0
    clock: Callable[[], float] = time.time
    jwks: JwksCache = field(init=False)
    replay: ReplayCache = field(init=False)

    def __post_init__(self) -> None:
        self.jwks = JwksCache(self.trusted, ttl=self.jwks_ttl)
        self.replay = ReplayCache(clock=self.clock)

    async def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """Verify an ``Authorization`` header value for ``audience``; return the claims."""
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("missing bearer token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise AuthError(f"algorithm {alg!r} not allowed (use ES384 or RS384)")
        iss = unverified.get("iss")
        if not isinstance(iss, str) or iss not in self.trusted:
            raise AuthError("issuer not trusted")
        jku = header.get("jku")
        if jku is not None and jku != self.trusted[iss]:
            raise AuthError("jku is not the issuer's registered key set")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError("kid missing from the token header")
        keys = await self.jwks.keys(iss)
        if kid not in keys:  # the issuer may have rotated its keys: re-read once
            keys = await self.jwks.keys(iss, refresh=True)
        if kid not in keys:
            raise AuthError("unknown kid for this issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                keys[kid].key,
                algorithms=[alg],
                audience=audience,
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
        except jwt.PyJWTError:
            raise AuthError("invalid signature or claims") from None
        now = self.clock()
        iat = float(claims["iat"])
        if iat > now + self.leeway:
            raise AuthError("iat is in the future")
        if now - iat > self.max_age + self.leeway:
            raise AuthError("token too old (iat)")
        self.replay.check_and_add(iss, str(claims["jti"]), float(claims["exp"]))
        return claims
