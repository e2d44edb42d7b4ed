"""State the workers of one deployment share, on Redis (``OMSCDS_REDIS_URL``).

* :meth:`RedisState.claim` is the CDS client-JWT replay cache: ``SET NX`` of the hashed
  ``(iss, jti)`` with the token's own expiry, so a ``jti`` used on one worker (or host) is
  refused on every other, and Redis forgets it when the token could no longer be accepted.
* :meth:`RedisState.load` / :meth:`save` / :meth:`permit` are the key-set cache's shared part:
  the last key-set document read (kept ``jwks_cache_seconds``) and a permit to read the
  issuer's source at most once per ``min_interval`` across all workers.

Keys are hashes (no token, no issuer URL in Redis). An unreachable Redis is
:class:`~omscds.interfaces.api.problems.Unavailable` (503): a replay check that cannot be made
refuses the call rather than accept it. Without ``OMSCDS_REDIS_URL`` (local mode, one process)
the verifier keeps this state in memory (``interop.cdshooks.security``).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from omscds.errors import AuthError
from omscds.interfaces.api.problems import Unavailable

__all__ = ["RedisState"]

_T = TypeVar("_T")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


class RedisState:
    """The replay cache and key-set state on one Redis server (one client per event loop)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "omscds:",
        timeout_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.clock = clock
        self._clients: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}

    def _client(self) -> aioredis.Redis:
        # a redis.asyncio connection belongs to the loop that opened it; the service has one
        # loop per worker, tests one per TestClient
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for old in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[old]
            client = aioredis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                retry_on_timeout=False,
            )
            self._clients[loop] = client
        return client

    async def _call(self, op: Callable[[aioredis.Redis], Awaitable[_T]]) -> _T:
        try:
            return await op(self._client())
        except (RedisError, OSError) as exc:
            raise Unavailable(
                f"the shared state (Redis) cannot be reached ({type(exc).__name__})",
                path="redis",
            ) from None

    async def ping(self) -> None:
        """Unavailable unless Redis answers."""
        await self._call(lambda r: r.ping())

    async def claim(self, iss: str, jti: str, until: float) -> None:
        """Refuse a ``jti`` any worker has seen; remember it until ``until`` (epoch s)."""
        key = f"{self.prefix}jti:{_digest(iss, jti)}"
        ttl_ms = max(1, math.ceil((until - self.clock()) * 1000))
        fresh = await self._call(lambda r: r.set(key, b"1", nx=True, px=ttl_ms))
        if not fresh:
            raise AuthError("token replayed (jti already used)")

    async def load(self, issuer: str) -> bytes | None:
        got = await self._call(lambda r: r.get(f"{self.prefix}jwks:{_digest(issuer)}"))
        return got if isinstance(got, bytes) else None

    async def save(self, issuer: str, document: bytes, ttl: float) -> None:
        key = f"{self.prefix}jwks:{_digest(issuer)}"
        ttl_ms = max(1, math.ceil(ttl * 1000))
        await self._call(lambda r: r.set(key, document, px=ttl_ms))

    async def permit(self, issuer: str, interval: float) -> bool:
        if interval <= 0:
            return True
        key = f"{self.prefix}jwks-read:{_digest(issuer)}"
        ms = math.ceil(interval * 1000)
        return bool(await self._call(lambda r: r.set(key, b"1", nx=True, px=ms)))

    async def aclose(self) -> None:
        """Close this loop's connections (at shutdown)."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()
