"""Who is calling, and may they do this: sessions, bearer tokens, roles and CSRF.

Two modes (``Settings.auth_mode``):

* **local** (the default of ``omscds serve``): one user on this machine. A random token is
  printed at start as a URL (``/login?token=...``, as Jupyter does); opening it exchanges the
  token for an HttpOnly, ``SameSite=Strict`` session cookie. API clients send
  ``Authorization: Bearer <token>``. The token holder has every role.
* **oidc**: users log in at an OpenID provider (authorization code with PKCE, see
  :mod:`omscds.interfaces.api.oidc`); API clients send the provider's JWT access tokens. Roles
  come from a configurable claim.

A route declares what it needs with ``Depends(require(ROLE))``. No credentials: 401; a bad
token: 401; no such role: 403; a cookie-authenticated request that changes state without the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``): 403. Bearer
requests carry no ambient authority, so they need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from omscds.errors import AuthError
from omscds.interfaces.api.problems import BodyError, Forbidden, error_response
from omscds.interfaces.api.settings import ROLES, Settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fastapi import FastAPI

    from omscds.interfaces.api.oidc import OidcClient

__all__ = [
    "ADMIN",
    "AUDITOR",
    "CLINICIAN",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "REGISTRAR",
    "SESSION_COOKIE",
    "AuthState",
    "Principal",
    "authenticate",
    "csrf_token",
    "install_auth",
    "require",
    "router",
    "safe_next",
]

log = logging.getLogger("omscds.auth")
CLINICIAN, REGISTRAR, AUDITOR, ADMIN = "clinician", "registrar", "auditor", "admin"
SESSION_COOKIE = "omscds_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    subject: str
    roles: frozenset[str]
    issuer: str
    #: ``cookie`` (a browser session) or ``bearer`` (an API client)
    method: str
    jti: str | None = None
    #: the session's CSRF token (cookie sessions only)
    csrf: str = ""


@dataclass
class AuthState:
    """The app's authentication material, made once by :func:`install_auth`."""

    settings: Settings
    local_token: str
    secret: bytes
    serializer: URLSafeTimedSerializer
    oidc: OidcClient | None = None
    #: keys patient-key hashes in the access log
    log_key: bytes = field(default=b"")

    def check_local_token(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.local_token.encode())


def _state(request: Request) -> AuthState:
    st: AuthState = request.app.state.auth
    return st


def _roles_header(roles: frozenset[str]) -> str:
    return ", ".join(sorted(roles)) or "none"


# -- sessions ----------------------------------------------------------------------------


def new_session(st: AuthState, subject: str, roles: frozenset[str], issuer: str) -> str:
    """A signed session cookie value (subject, roles, issuer, CSRF token, time)."""
    data = {"sub": subject, "roles": sorted(roles), "iss": issuer,
            "csrf": secrets.token_urlsafe(24), "iat": int(time.time())}  # fmt: skip
    return st.serializer.dumps(data)


def set_session_cookie(response: Response, st: AuthState, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=st.settings.session_max_age_s,
        httponly=True,
        samesite="strict",
        secure=st.settings.https,
        path="/",
    )


def _from_cookie(st: AuthState, value: str) -> Principal | None:
    try:
        data = st.serializer.loads(value, max_age=st.settings.session_max_age_s)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    roles = frozenset(r for r in data.get("roles", ()) if r in ROLES)
    return Principal(
        subject=str(data.get("sub", "")),
        roles=roles,
        issuer=str(data.get("iss", "")),
        method="cookie",
        csrf=str(data.get("csrf", "")),
    )


# -- authentication ----------------------------------------------------------------------


async def _from_bearer(st: AuthState, token: str) -> Principal:
    if st.settings.auth_mode == "local":
        if not st.check_local_token(token):
            raise AuthError("the bearer token is not this server's token")
        return Principal("local", frozenset(ROLES), "local", "bearer")
    assert st.oidc is not None
    claims = await st.oidc.verify_access_token(token)
    return Principal(
        subject=str(claims.get("sub", "")),
        roles=st.oidc.roles(claims),
        issuer=str(claims.get("iss", "")),
        method="bearer",
        jti=str(claims["jti"]) if "jti" in claims else None,
    )


async def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method in _SAFE_METHODS or principal.method != "cookie":
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(_FORMS):
        try:
            form = await request.form()
        except Exception:  # python-multipart refuses the body
            raise BodyError("the form cannot be read") from None
        sent = str(form.get(CSRF_FIELD) or "")
    if not principal.csrf or not hmac.compare_digest(sent.encode(), principal.csrf.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page")


async def authenticate(request: Request) -> Principal:
    """The caller, from ``Authorization: Bearer`` or the session cookie; AuthError if none."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    st = _state(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("use Authorization: Bearer <token>")
        principal = await _from_bearer(st, token.strip())
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        found = _from_cookie(st, cookie) if cookie else None
        if found is None:
            raise AuthError("authentication required: log in (see docs/security.md)")
        principal = found
    await _check_csrf(request, principal)
    request.state.principal = principal
    request.state.log_auth = {"iss": principal.issuer, "jti": principal.jti,
                              "via": principal.method}  # fmt: skip
    return principal


def require(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, who must hold one of ``roles`` (none: any authenticated)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    wanted = frozenset(roles)

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if wanted and not principal.roles & wanted:
            raise Forbidden(
                f"this needs the role {' or '.join(sorted(wanted))}; "
                f"you hold {_roles_header(principal.roles)}"
            )
        return principal

    dependency.__name__ = "require_" + "_or_".join(sorted(wanted) or ["login"])
    return dependency


def csrf_token(request: Request) -> str:
    """The CSRF token to put into the page's forms ('' for bearer callers)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal.csrf if principal is not None else ""


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (anything else: ``/``).

    >>> safe_next("/registry?offset=50"), safe_next("//evil.example/"), safe_next("https://x")
    ('/registry?offset=50', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\r\n\t"):
        return "/"
    return target


# -- login and logout --------------------------------------------------------------------

router = APIRouter(include_in_schema=False)

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>omscds: log in</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main id="main"><h1>omscds: log in</h1>
<p>{message}</p>
<form method="get" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="token">Token</label> <input type="password" id="token" name="token"
 autocomplete="off" required> <button type="submit">Log in</button></form>
<p>The token is printed by <code>omscds serve</code> when it starts, as a URL to open.</p>
</main></body></html>"""


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def login_page(message: str, next_path: str, status: int = 401) -> HTMLResponse:
    html = _LOGIN_PAGE.format(message=_html_escape(message), next=_html_escape(next_path))
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/login")
async def login(request: Request, token: str | None = None, next: str | None = None) -> Response:
    """Local mode: exchange the printed token for a session cookie. OIDC mode: log in at the
    provider."""
    st = _state(request)
    target = safe_next(next)
    if st.settings.auth_mode == "oidc":
        return RedirectResponse(f"/auth/login?next={quote(target)}", status_code=303)
    if token is None:
        return login_page("Open the URL that omscds serve printed, or paste its token.", target)
    if not st.check_local_token(token):
        log.info("local login refused: wrong token")
        return login_page("That token is not this server's token.", target)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, st, new_session(st, "local", frozenset(ROLES), "local"))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (CSRF-checked like every cookie-authenticated change)."""
    principal = await authenticate(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="strict", httponly=True)
    log.info("logout sub_hash=%s", _subject_hash(_state(request), principal.subject))
    return response


def _subject_hash(st: AuthState, subject: str) -> str:
    return hmac.new(st.log_key, subject.encode(), hashlib.sha256).hexdigest()[:16]


def _is_page_request(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/fhir/", "/cds-services", "/static/")):
        return False
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def install_auth(app: FastAPI, settings: Settings) -> AuthState:
    """Make the app's authentication material and mount login/logout (and OIDC) routes."""
    secret = (settings.session_secret or secrets.token_urlsafe(32)).encode()
    st = AuthState(
        settings=settings,
        local_token=settings.local_token or secrets.token_urlsafe(32),
        secret=secret,
        serializer=URLSafeTimedSerializer(secret, salt="omscds-session"),
        log_key=hmac.new(secret, b"omscds-log-hash", hashlib.sha256).digest(),
    )
    if settings.auth_mode == "oidc":
        from omscds.interfaces.api.oidc import OidcClient, install_oidc

        st.oidc = OidcClient(settings)
        install_oidc(app, settings, secret)
    app.state.auth = st
    app.include_router(router)

    async def _unauthenticated(request: Request, exc: Exception) -> Response:
        # a browser opening a page is sent to log in; everything else gets problem+json
        if not isinstance(exc, Forbidden) and _is_page_request(request):
            target = safe_next(request.url.path)
            if settings.auth_mode == "oidc":
                return RedirectResponse(f"/auth/login?next={quote(target)}", status_code=303)
            return login_page("Log in to use omscds.", target)
        return error_response(request, exc)

    app.add_exception_handler(AuthError, _unauthenticated)
    return st


def log_fields(request: Request) -> dict[str, Any]:
    """What the access log may say about the caller (issuer, jti; never a token)."""
    out: dict[str, Any] = getattr(request.state, "log_auth", {})
    return out
