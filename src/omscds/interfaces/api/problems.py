"""Errors as RFC 9457 problem details (``application/problem+json``), and the body size limit.

``InputError`` -> 422 naming each field path; ``AuthError`` -> 401; other ``InteropError`` -> 422;
any other ``OmscdsError`` -> 500 with its message; an unexpected exception -> 500 without details.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omscds.errors import AuthError, InputError, InteropError, OmscdsError, format_path

__all__ = ["PROBLEM_TYPE", "BodySizeLimit", "install_problem_handlers", "problem"]

log = logging.getLogger("omscds.api")
PROBLEM_TYPE = "https://omscds.org/problems/"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
}


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + (kind or str(status)),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"path": p, "message": m} for p, m in errors]
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _validation_errors(exc: RequestValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if p != "body"]
        out.append((format_path(loc), str(err.get("msg", "invalid"))))
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return problem(422, str(exc), kind="invalid-input", errors=exc.errors)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        log.info("authentication failed: %s", exc.message)
        return problem(
            401, exc.message, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(InteropError)
    async def _interop(_: Request, exc: InteropError) -> JSONResponse:
        return problem(
            422, str(exc), kind="invalid-document", errors=[(exc.path or "", exc.message)]
        )

    @app.exception_handler(OmscdsError)
    async def _omscds(_: Request, exc: OmscdsError) -> JSONResponse:
        log.error("%s: %s", type(exc).__name__, exc)
        return problem(500, str(exc), kind="internal")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = f"{errors[0][0]}: {errors[0][1]}" if errors else "invalid request"
        return problem(422, detail, kind="invalid-input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect) -> Response:
        # the client hung up while sending its body: nobody is left to answer, not a server error
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error (%s)", type(exc).__name__)
        return problem(500, "internal error; please report it", kind="internal")


class BodySizeLimit:
    """Pure ASGI middleware: 413 when a request body exceeds ``max_bytes`` (declared or sent)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return msg

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        resp = problem(413, f"request body larger than {self.max_bytes} bytes", kind="too-large")
        await resp(scope, receive, send)


class _TooLarge(Exception):
    pass
