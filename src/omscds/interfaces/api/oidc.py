"""OpenID Connect (deployment mode): the page logs in with the authorization code flow and PKCE
(Authlib's Starlette client); API clients send JWT access tokens, checked against the keys the
provider's discovery document names.

Discovery and key sets are read lazily and cached. An unknown ``kid`` may mean a rotated key, so
the key set is re-read, at most once per ``_MIN_REFETCH_S`` (a flood of made-up ``kid``\\ s costs
one fetch, not one per request). Access tokens must be signed with an allowed asymmetric
algorithm by a key whose type matches it, name the issuer, carry an accepted ``aud``, and not be
expired; any failure is an :class:`~omscds.errors.AuthError` (401) with a short reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import warnings
from typing import TYPE_CHECKING, Any

import httpx
import jwt
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from omscds.errors import AuthError
from omscds.interfaces.api.settings import ROLES, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["OidcClient", "install_oidc", "roles_from_claims"]

log = logging.getLogger("omscds.auth")
_MIN_REFETCH_S = 30.0
_MAX_DOC_BYTES = 512 * 1024
_MAX_TOKEN_BYTES = 16 * 1024
_LOGIN_SESSION = "omscds_login"
#: the JWK key type each algorithm family needs
_KTY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def roles_from_claims(
    claims: dict[str, Any], claim: str, role_map: dict[str, list[str]]
) -> frozenset[str]:
    """The omscds roles in ``claims[claim]`` (a dotted path; a list or a space-separated string).

    >>> sorted(roles_from_claims({"realm_access": {"roles": ["clinician", "x"]}},
    ...                          "realm_access.roles", {}))
    ['clinician']
    >>> sorted(roles_from_claims({"groups": "oms-doctors"}, "groups",
    ...                          {"oms-doctors": ["clinician", "registrar"]}))
    ['clinician', 'registrar']
    """
    node: Any = claims
    for part in claim.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, str):
        names = node.split()
    elif isinstance(node, list):
        names = [n for n in node if isinstance(n, str)]
    else:
        names = []
    out: set[str] = set()
    for name in names:
        if role_map:
            out.update(role_map.get(name, ()))
        elif name in ROLES:
            out.add(name)
    return frozenset(out)


class OidcClient:
    """Discovery, key set and access-token checks for one issuer."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        assert settings.oidc_issuer is not None and settings.oidc_client_id is not None
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.audience = settings.oidc_audience or [settings.oidc_client_id]
        self.transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def metadata_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    async def _get_json(self, url: str) -> Any:
        try:
            async with httpx.AsyncClient(
                transport=self.transport, timeout=self.settings.oidc_http_timeout_s
            ) as c:
                r = await c.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise AuthError(
                f"the OpenID provider cannot be reached ({type(exc).__name__})"
            ) from None
        if r.status_code != 200 or len(r.content) > _MAX_DOC_BYTES:
            raise AuthError(f"the OpenID provider answered HTTP {r.status_code}")
        try:
            return json.loads(r.content)
        except ValueError:
            raise AuthError("the OpenID provider sent a document that is not JSON") from None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            doc = await self._get_json(self.metadata_url)
            if not isinstance(doc, dict) or doc.get("issuer", "").rstrip("/") != self.issuer:
                raise AuthError("the provider's discovery document names another issuer")
            if not isinstance(doc.get("jwks_uri"), str):
                raise AuthError("the provider's discovery document has no jwks_uri")
            self._metadata = doc
        return self._metadata

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._keys_at > _MIN_REFETCH_S:
                self._keys_at = time.monotonic()
                doc = await self._get_json((await self.metadata())["jwks_uri"])
                keys: dict[str, jwt.PyJWK] = {}
                for item in doc.get("keys", []) if isinstance(doc, dict) else []:
                    try:
                        if isinstance(item, dict) and isinstance(item.get("kid"), str):
                            keys[item["kid"]] = jwt.PyJWK(item)
                    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                        continue  # a key we cannot use (a symmetric one, an odd curve)
                self._keys = keys
        if kid not in self._keys:
            raise AuthError("the access token's key is not in the provider's key set")
        return self._keys[kid]

    async def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token; AuthError otherwise."""
        if len(token) > _MAX_TOKEN_BYTES:
            raise AuthError("the access token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the access token is not a JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.settings.oidc_algorithms:
            raise AuthError(f"algorithm {alg!r} not allowed")
        if not isinstance(kid, str):
            raise AuthError("the access token names no key (kid)")
        key = await self._key(kid)
        kty = key._jwk_data.get("kty") if hasattr(key, "_jwk_data") else None
        jwk_alg = getattr(key, "algorithm_name", None)
        if _KTY.get(str(alg)[:2]) != kty or (jwk_alg and jwk_alg != alg):
            raise AuthError("the access token's algorithm does not match its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[str(alg)],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
                leeway=self.settings.jwt_leeway_s,
            )
        except jwt.PyJWTError as exc:
            raise AuthError(f"the access token is not valid: {exc}") from None
        except (ValueError, TypeError):
            raise AuthError("the access token cannot be checked with its key") from None
        return claims

    def roles(self, claims: dict[str, Any]) -> frozenset[str]:
        return roles_from_claims(
            claims, self.settings.oidc_roles_claim, self.settings.oidc_role_map
        )


def install_oidc(app: FastAPI, settings: Settings, secret: bytes) -> None:
    """Mount ``/auth/login`` and ``/auth/callback`` (the code flow) on ``app``."""
    with warnings.catch_warnings():  # Authlib warns that it prefers httpx2 (not needed here)
        warnings.simplefilter("ignore")
        from authlib.integrations.starlette_client import OAuth, OAuthError
    from starlette.middleware.sessions import SessionMiddleware

    from omscds.interfaces.api import auth

    assert settings.oidc_issuer is not None
    client_kwargs: dict[str, Any] = {
        "scope": settings.oidc_scopes,
        "code_challenge_method": "S256",
        "timeout": settings.oidc_http_timeout_s,
    }
    if not settings.oidc_client_secret:
        client_kwargs["token_endpoint_auth_method"] = "none"
    oauth = OAuth()
    oauth.register(
        "omscds",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )
    provider = oauth.create_client("omscds")
    redirect_uri = settings.public_base_url + "/auth/callback"
    router = APIRouter(include_in_schema=False)

    @router.get("/auth/login")
    async def oidc_login(request: Request, next: str | None = None) -> Response:
        request.session.clear()
        request.session["next"] = auth.safe_next(next)
        try:
            return await provider.authorize_redirect(request, redirect_uri)  # type: ignore[no-any-return]
        except (httpx.HTTPError, OAuthError, ValueError) as exc:
            raise AuthError(
                f"the OpenID provider cannot be reached ({type(exc).__name__})"
            ) from None

    @router.get("/auth/callback")
    async def oidc_callback(request: Request) -> Response:
        try:
            token = await provider.authorize_access_token(request)
        except OAuthError as exc:
            raise AuthError(f"login failed: {exc.error}") from None
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise AuthError(f"login failed ({type(exc).__name__})") from None
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise AuthError("login failed: the provider sent no ID token")
        st: auth.AuthState = request.app.state.auth
        assert st.oidc is not None
        roles = st.oidc.roles(claims)
        target = auth.safe_next(request.session.get("next"))
        request.session.clear()
        response = RedirectResponse(target, status_code=303)
        issuer = str(claims.get("iss", settings.oidc_issuer))
        auth.set_session_cookie(response, st, auth.new_session(st, claims["sub"], roles, issuer))
        log.info("oidc login iss=%s roles=%s", issuer, ",".join(sorted(roles)) or "none")
        return response

    app.include_router(router)
    # the login session (Authlib's state, nonce and PKCE verifier) lives in its own short cookie;
    # Lax, because the provider's redirect back is a cross-site navigation
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret.decode(),
        session_cookie=_LOGIN_SESSION,
        max_age=600,
        same_site="lax",
        https_only=settings.https,
        path="/auth",
    )
