"""Pure ASGI middleware around every request: the body guard, security headers and the access log;
and the route class that decodes JSON bodies strictly.

* :class:`BodyGuard` reads the whole body before the app runs: larger than ``max_bytes``
  (declared or sent, chunked or not) is 413; not arrived within ``timeout_s`` is 408. The app
  then reads it from memory, so no route can be stalled by a slow sender.
* :class:`SecurityHeaders` adds CSP (no inline script or style), ``frame-ancestors``,
  ``nosniff``, ``Referrer-Policy``, ``no-store`` on dynamic responses and HSTS over https.
* :class:`AccessLog` writes one JSON line per request (request id, method, path with patient
  keys replaced by a keyed hash, status, latency, issuer, jti). Never a query string, a body
  or a token.
* :class:`StrictJsonRoute` decodes a JSON body with :func:`omscds.model.strict.loads_json`
  (duplicate keys, NaN, nesting, huge integers: 400) before FastAPI reads it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omscds.errors import InputError
from omscds.interfaces.api.problems import BodyError, BodyTimeout, TooLarge, problem
from omscds.model.strict import loads_json

__all__ = [
    "AccessLog",
    "BodyGuard",
    "SecurityHeaders",
    "StrictJsonRoute",
    "hash_patient_keys",
    "security_headers",
]

access_log = logging.getLogger("omscds.access")
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})


# -- the body guard ----------------------------------------------------------------------


class BodyGuard:
    """Read the request body fully, bounded in size and time, then hand it to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        method = scope.get("method", "GET").encode()
        if declared is None and not chunked and method not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        if declared is not None:
            try:
                if int(declared) > self.max_bytes:
                    await self._reject(scope, send, TooLarge(self._too_large()))
                    return
            except ValueError:
                await self._reject(scope, send, BodyError("bad Content-Length"))
                return
        chunks: list[bytes] = []
        seen = 0
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    msg = await receive()
                    if msg["type"] == "http.disconnect":
                        return  # the client left: nobody to answer
                    body = msg.get("body", b"")
                    seen += len(body)
                    if seen > self.max_bytes:
                        await self._reject(scope, send, TooLarge(self._too_large()))
                        return
                    chunks.append(body)
                    if not msg.get("more_body", False):
                        break
        except TimeoutError:
            msg_ = f"the request body did not arrive within {self.timeout_s:g} s"
            await self._reject(scope, send, BodyTimeout(msg_))
            return
        whole = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"

    async def _reject(self, scope: Scope, send: Send, exc: InputError) -> None:
        status = 413 if isinstance(exc, TooLarge) else 408 if isinstance(exc, BodyTimeout) else 400
        kind = {413: "too-large", 408: "body-timeout", 400: "bad-body"}[status]
        resp = problem(status, exc.message, kind=kind, headers={"Connection": "close"})

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await resp(scope, nothing, send)


# -- security headers --------------------------------------------------------------------


def security_headers(frame_ancestors: list[str], https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries.

    >>> dict(security_headers([], False))[b"x-frame-options"]
    b'DENY'
    >>> b"frame-ancestors https://ehr.example" in dict(
    ...     security_headers(["https://ehr.example"], True))[b"content-security-policy"]
    True
    """
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )
    out = [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if not frame_ancestors:
        out.append((b"x-frame-options", b"DENY"))
    if https:
        out.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return out


class SecurityHeaders:
    def __init__(self, app: ASGIApp, frame_ancestors: list[str], https: bool) -> None:
        self.app = app
        self.headers = security_headers(frame_ancestors, https)
        self.hsts = next((h for h in self.headers if h[0] == b"strict-transport-security"), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                headers += [h for h in self.headers if h[0] not in present]
                if https and self.hsts is None:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- the access log ----------------------------------------------------------------------

_PATIENT_PATH = re.compile(r"(/patients/)([^/]+)")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def hash_patient_keys(path: str, key: bytes) -> str:
    """``path`` with each patient key replaced by ``~`` and a keyed hash of it.

    >>> hash_patient_keys("/api/v1/registry/patients/OMS-1/visits", b"k")
    '/api/v1/registry/patients/~ae6ec3b3a4cfe1fb/visits'
    """

    def sub(m: re.Match[str]) -> str:
        digest = hmac.new(key, m.group(2).encode(), hashlib.sha256).hexdigest()[:16]
        return f"{m.group(1)}~{digest}"

    return _PATIENT_PATH.sub(sub, path)


class AccessLog:
    """One JSON line per request on the ``omscds.access`` logger."""

    def __init__(self, app: ASGIApp, key: Callable[[], bytes]) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", ())).get(b"x-request-id", b"").decode("latin-1")
        rid = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        status = 0
        t0 = time.perf_counter()

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                state = scope.get("state", {})
                entry: dict[str, Any] = {
                    "event": "request",
                    "request_id": rid,
                    "method": scope.get("method"),
                    "path": hash_patient_keys(scope.get("path", ""), self.key()),
                    "status": status or 500,
                    "latency_ms": round((time.perf_counter() - t0) * 1e3, 2),
                }
                entry.update({k: v for k, v in state.get("log_auth", {}).items() if v})
                access_log.info(json.dumps(entry, sort_keys=True))


class JsonFormatter(logging.Formatter):
    """Log records as JSON objects (the access log's lines are already JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.name == access_log.name and msg.startswith("{"):
            return msg
        out: dict[str, Any] = {"level": record.levelname.lower(), "logger": record.name,
                               "message": msg}  # fmt: skip
        if record.exc_info and record.exc_info[0] is not None:
            out["error_type"] = record.exc_info[0].__name__  # the type, never the traceback
        return json.dumps(out)


# -- strict JSON bodies ------------------------------------------------------------------


def _is_json(content_type: str) -> bool:
    ct = content_type.split(";")[0].strip().lower()
    return ct == "application/json" or ct.endswith("+json")


class StrictJsonRoute(APIRoute):
    """Decode JSON bodies strictly (400 naming the field) before FastAPI's own decoding."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH") and _is_json(
                request.headers.get("content-type", "")
            ):
                body = await request.body()
                if body:
                    try:
                        request._json = loads_json(body)
                    except InputError as exc:
                        raise BodyError(exc.message, path=exc.path, errors=exc.errors) from None
            return await original(request)

        return handler
