"""The one error table: exception type -> HTTP status, looked up along the MRO (as starlette
looks up its handlers), and two renderers: RFC 9457 problem details
(``application/problem+json``) and FHIR ``OperationOutcome`` (``/fhir`` and ``/cds-services``).

Every route raises; none builds its own error response. The same error has the same status on
every face:

=========================  ======  ===========================================================
exception                  status  meaning
=========================  ======  ===========================================================
``BodyError``              400     the body is not acceptable JSON / form / CDS request
``AuthError``              401     no or bad credentials (``WWW-Authenticate: Bearer``)
``Forbidden``              403     authenticated, but without the role
``NotFoundError``          404     names something that does not exist
``BodyTimeout``            408     the body did not arrive in time
``TooLarge``               413     the body is larger than the limit (declared or sent)
``PrefetchError``          412     CDS data neither prefetched nor fetchable
``InputError``             422     the document is well-formed but wrong (every field path)
``InteropError``           422     a FHIR / CDS / phenopacket document cannot be converted
``ImagingError``           422     an image cannot be read or quantified
``StorageError``           503     the registry cannot do it now (busy, not initialised, newer)
``Overloaded``             503     too much work queued (``Retry-After``)
``Unavailable``            503     a service this one depends on (Redis) cannot be reached
``KnowledgeError``         500     the knowledge base is broken (an operator's problem)
anything else              500     a bug: logged with its type, never shown
=========================  ======  ===========================================================

Bodies carry the message and field paths an omscds error was raised with; they never carry
case content, SQL or a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from omscds.errors import (
    AuthError,
    ImagingError,
    InputError,
    InteropError,
    KnowledgeError,
    NotFoundError,
    OmscdsError,
    StorageError,
    format_path,
)
from omscds.interop.cdshooks import PrefetchError
from omscds.interop.fhir import operation_outcome

__all__ = [
    "ERROR_TABLE",
    "FHIR_JSON",
    "PROBLEM_TYPE",
    "BodyError",
    "BodyTimeout",
    "Forbidden",
    "Overloaded",
    "Row",
    "TooLarge",
    "Unavailable",
    "error_response",
    "install_problem_handlers",
    "lookup",
    "problem",
    "pydantic_input_error",
]

log = logging.getLogger("omscds.api")
PROBLEM_TYPE = "https://omscds.org/problems/"
FHIR_JSON = "application/fhir+json"


class BodyError(InputError):
    """The request body is not acceptable: malformed or ambiguous JSON (duplicate keys, NaN,
    nesting deeper than the limit, huge integers), not an object, not a CDS request (400)."""


class TooLarge(InputError):
    """The request body is larger than ``max_request_bytes`` (413)."""


class BodyTimeout(InputError):
    """The request body did not arrive within ``body_timeout_s`` (408)."""


class Forbidden(AuthError):
    """The caller is authenticated but does not hold the role this needs (403)."""


class Overloaded(OmscdsError):
    """Too much work of this kind is queued; try again after ``retry_after`` seconds (503)."""

    def __init__(self, message: str, *, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(OmscdsError):
    """A service this one depends on (the shared state on Redis) cannot be reached (503)."""


@dataclass(frozen=True)
class Row:
    """How one exception type is answered."""

    status: int
    kind: str
    title: str
    #: the OperationOutcome ``issue.code``
    fhir_code: str = "invalid"
    #: whether the message may be shown (False: a generic text; the message is only logged)
    show: bool = True


#: exception type -> answer; :func:`lookup` walks the exception's MRO, so a subclass not
#: listed gets its nearest listed ancestor's row
ERROR_TABLE: dict[type[BaseException], Row] = {
    BodyError: Row(400, "bad-body", "Bad request", "structure"),
    AuthError: Row(401, "unauthorized", "Unauthorized", "login"),
    Forbidden: Row(403, "forbidden", "Forbidden", "forbidden"),
    NotFoundError: Row(404, "not-found", "Not found", "not-found"),
    BodyTimeout: Row(408, "body-timeout", "Request timeout", "timeout"),
    PrefetchError: Row(412, "incomplete", "Precondition failed", "incomplete"),
    TooLarge: Row(413, "too-large", "Request too large", "too-costly"),
    InputError: Row(422, "invalid-input", "Invalid input", "invalid"),
    InteropError: Row(422, "invalid-document", "Invalid document", "structure"),
    ImagingError: Row(422, "invalid-image", "Invalid image", "invalid"),
    StorageError: Row(503, "storage", "Registry unavailable", "transient"),
    Overloaded: Row(503, "overloaded", "Service busy", "throttled"),
    Unavailable: Row(503, "unavailable", "Service unavailable", "transient"),
    KnowledgeError: Row(500, "knowledge", "Knowledge base error", "exception"),
    OmscdsError: Row(500, "internal", "Internal error", "exception"),
    Exception: Row(500, "internal", "Internal error", "exception", show=False),
}
_HTTP_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}


def lookup(exc: BaseException) -> Row:
    """The row of the nearest listed class in ``type(exc).__mro__``.

    >>> lookup(NotFoundError("no patient 'x'")).status
    404
    >>> lookup(PrefetchError("no patient resource")).status
    412
    >>> lookup(KeyError("x")).show
    False
    """
    for cls in type(exc).__mro__:
        row = ERROR_TABLE.get(cls)
        if row is not None:
            return row
    return ERROR_TABLE[Exception]  # pragma: no cover - BaseException outside Exception


def pydantic_input_error(exc: ValidationError, cls: type[InputError] = InputError) -> InputError:
    """A pydantic ``ValidationError`` as an ``InputError`` naming every field path."""
    errors = [
        (format_path([p for p in e["loc"] if isinstance(p, str | int)]), e["msg"])
        for e in exc.errors()
    ] or [("(root)", "invalid")]
    return cls(errors[0][1], path=errors[0][0], errors=errors)


def _errors(exc: BaseException) -> list[tuple[str, str]]:
    if isinstance(exc, InputError):
        return list(exc.errors)
    if isinstance(exc, OmscdsError):
        return [(exc.path or "(root)", exc.message)]
    return []


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    title: str | None = None,
    errors: Sequence[tuple[str, str]] = (),
    path: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + (kind or str(status)),
        "title": title or _HTTP_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if path is not None:
        body["path"] = path
    if errors:
        body["errors"] = [{"path": p, "message": m} for p, m in errors]
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _headers(exc: BaseException, row: Row) -> dict[str, str]:
    if row.status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, Overloaded):
        return {"Retry-After": str(exc.retry_after)}
    if row.status == 503:
        return {"Retry-After": "5"}
    return {}


def _wants_outcome(request: Request, exc: BaseException) -> bool:
    """FHIR and CDS Hooks answer with OperationOutcomes; credentials problems stay problem+json
    (what an EHR's client library expects of a 401/403)."""
    if isinstance(exc, AuthError):
        return False
    path = request.url.path
    return path.startswith(("/fhir/", "/cds-services"))


def error_response(request: Request, exc: BaseException) -> Response:
    """The one place an exception becomes a response."""
    row = lookup(exc)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:  # interfaces.api.ops.Metrics
        metrics.error(exc, row.status)
    if row.status >= 500:
        if row.show:
            log.error("%s: %s", type(exc).__name__, exc)
        else:
            log.error("unexpected error (%s)", type(exc).__name__, exc_info=exc)
    elif isinstance(exc, AuthError):
        log.info("%s: %s", type(exc).__name__, getattr(exc, "message", ""))
    detail = str(exc) if row.show else "internal error; please report it"
    errors = _errors(exc) if row.show else []
    headers = _headers(exc, row)
    if _wants_outcome(request, exc):
        issues = [(p, m) for p, m in errors] or [("", detail)]
        return JSONResponse(
            operation_outcome(issues, code=row.fhir_code),
            status_code=row.status,
            media_type=FHIR_JSON if request.url.path.startswith("/fhir/") else None,
            headers=headers,
        )
    path = exc.path if isinstance(exc, OmscdsError) else None
    if isinstance(exc, OmscdsError) and row.show:
        detail = exc.message if exc.path is None or len(errors) > 1 else str(exc)
    return problem(
        row.status,
        detail,
        kind=row.kind,
        title=row.title,
        errors=errors,
        path=path,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if p != "body"]
        out.append((format_path(loc), str(err.get("msg", "invalid"))))
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Route every exception through :func:`error_response`."""

    async def _omscds(request: Request, exc: Exception) -> Response:
        return error_response(request, exc)

    async def _invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc) or [("(root)", "invalid request")]
        err = InputError(errors[0][1], path=errors[0][0], errors=errors)
        return error_response(request, err)

    async def _pydantic(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        return error_response(request, pydantic_input_error(exc))

    async def _http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    async def _gone(_: Request, exc: Exception) -> Response:
        # the client hung up while sending its body: nobody is left to answer, not an error
        return Response(status_code=499)

    app.add_exception_handler(OmscdsError, _omscds)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ValidationError, _pydantic)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ClientDisconnect, _gone)
    app.add_exception_handler(Exception, _omscds)
