"""Every ``OMSCDS_*`` setting, read from the environment by one class (pydantic-settings).

Each field is one variable, ``OMSCDS_`` + its name in capitals (``PROMETHEUS_MULTIPROC_DIR``
is prometheus_client's own). They are listed in one table in ``docs/deployment.md``; a test
checks that the table, this class and the variables named anywhere under ``src/`` agree.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ROLES", "Settings"]

#: the roles a user can hold; what each may do is in ``interfaces.api.auth.PERMISSIONS``
ROLES: tuple[str, ...] = ("admin", "auditor", "clinician", "registrar")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything the service reads from the environment.

    ``OMSCDS_CDS_TRUSTED_ISSUERS`` is a JSON object mapping each trusted JWT issuer to its JWKS,
    given as a file path or an ``http(s)://`` URL, e.g.
    ``{"https://ehr.example": "/etc/jwks.json"}``.
    """

    model_config = SettingsConfigDict(env_prefix="OMSCDS_", extra="ignore", populate_by_name=True)

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The base URL clients use to reach this service; JWT `aud` is checked "
        "against the service URL under it, and HSTS and Secure cookies follow its scheme.",
    )
    cds_trusted_issuers: dict[str, str] = Field(default_factory=dict)
    insecure_dev: bool = Field(
        default=False, description="Skip CDS Hooks JWT checks (local demos only; loud when on)."
    )
    knowledge_dir: str | None = Field(default=None, description="Alternative knowledge base.")
    max_request_bytes: int = Field(default=2_000_000, ge=1024)
    body_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Longest wait for a request body to arrive (408)."
    )
    fhir_fetch_timeout_s: float = Field(default=3.0, gt=0, le=30)
    jwks_cache_seconds: float = Field(default=300.0, ge=0)
    jwt_max_age_s: int = Field(default=300, ge=1, description="Oldest accepted `iat`.")
    jwt_leeway_s: int = Field(default=30, ge=0)
    jwt_max_lifetime_s: int = Field(default=300, ge=1, description="Longest CDS token lifetime.")
    cds_jku_allowlist: dict[str, list[str]] = Field(default_factory=dict, description="iss -> "
        "further `jku` URLs its tokens may name (accepted, never fetched).")  # fmt: skip
    cds_fhir_servers: dict[str, list[str]] = Field(default_factory=dict, description="JWT iss "
        "(or `*` for any caller) -> FHIR base URLs its `fhirServer` may name; only these are "
        "fetched from and receive the EHR's token (none by default).")  # fmt: skip
    public_base_urls: list[str] = Field(default_factory=list, description="Other base URLs "
        "clients reach this service by; a JWT `aud` under any of them is accepted.")  # fmt: skip
    feedback_db: str | None = Field(
        default=None,
        description="Where CDS Hooks feedback and issued card ids are kept: a SQLite file (the "
        "workers of one host share it), a `postgresql://` URL (every host shares it), or in "
        "memory when unset.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser (CORS); none by default. "
        "`*` is refused: name each origin.",
    )
    frame_ancestors: list[str] = Field(
        default_factory=list,
        description="Origins that may embed the page in a frame (an EHR); none by default.",
    )

    # -- authentication -----------------------------------------------------------------
    auth_mode: Literal["local", "oidc"] = Field(
        default="local",
        description="`local`: one user on this machine, holding a random token printed at "
        "start; `oidc`: users log in at an OpenID provider and hold the roles it gives them.",
    )
    local_token: str | None = Field(
        default=None,
        min_length=16,
        description="The local-mode token (random per start when unset).",
    )
    session_secret: str | None = Field(
        default=None,
        min_length=32,
        description="Key that signs session cookies and keys the patient-key hash in logs "
        "(random per start when unset: sessions end with the process). Set it when running "
        "several workers.",
    )
    session_max_age_s: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)
    oidc_issuer: str | None = Field(
        default=None, description="The OpenID provider's issuer URL (discovery under it)."
    )
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_audience: list[str] = Field(
        default_factory=list,
        description="Accepted `aud` of API access tokens (default: the client id).",
    )
    oidc_roles_claim: str = Field(
        default="roles",
        description="Claim holding the user's roles; a dotted path reaches into objects "
        "(`realm_access.roles`).",
    )
    oidc_role_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Provider role or group name -> omscds roles (default: names are taken "
        "as omscds role names).",
    )
    oidc_scopes: str = Field(default="openid profile")
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256"])
    oidc_http_timeout_s: float = Field(default=5.0, gt=0, le=60)

    # -- work off the event loop --------------------------------------------------------
    pdf_workers: int = Field(default=2, ge=1, le=32, description="PDFs rendered at once.")
    pdf_queue: int = Field(
        default=4, ge=0, le=256, description="PDFs waiting for a worker before 503."
    )
    registry_busy_timeout_s: float = Field(
        default=5.0, ge=0, le=600, description="Longest wait for the SQLite write lock (503)."
    )
    access_log: bool = Field(default=True, description="One JSON line per request.")
    hook_threads: int = Field(
        default=4,
        ge=1,
        le=64,
        description="CDS hooks with a large body run at once per worker, each in a thread "
        "(CPU-bound: more only add switching; others wait their turn).",
    )
    hook_inline_bytes: int = Field(
        default=32_768,
        ge=0,
        le=1_048_576,
        description="CDS hook bodies up to this size run on the event loop, without a thread "
        "hand-off (about 1 ms of CPU per call); larger ones in a thread. 0: always a thread.",
    )

    # -- the registry (read by the storage layer and the registry commands too) -----------
    database_url: str | None = Field(
        default=None,
        description="Registry database: `postgresql://...` or a SQLite file (default: "
        "`registry.sqlite3` in the user data dir). Several workers need PostgreSQL.",
    )
    registry_allow_identifiers: bool = Field(
        default=False, description="Let external ids hold direct identifiers (off)."
    )
    actor: str | None = Field(
        default=None,
        description="Who writes, in the audit log, for command-line registry writes "
        "(default: the login name).",
    )

    # -- scale-out and operations -------------------------------------------------------
    redis_url: str | None = Field(
        default=None,
        description="Redis holding the state workers share (CDS JWT replay cache, key-set "
        "cache); needed for more than one worker. Unset: in this process only.",
    )
    redis_timeout_s: float = Field(default=1.0, gt=0, le=30, description="Redis socket timeout.")
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        description="If set, `/metrics` needs `Authorization: Bearer <it>`; unset, `/metrics` "
        "is open (it carries no PHI; keep it off the public proxy).",
    )
    bench_floor: bool = Field(
        default=False,
        description="Mount `/bench/floor/{service_id}` (JWT check and body parse, no cards): "
        "for bench/service.py only, never in production.",
    )
    prometheus_multiproc_dir: str | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="prometheus_client's own variable, read when it is imported: the "
        "directory where workers write their metrics (set by `omscds serve --workers N`).",
    )

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("cors_origins", "frame_ancestors")
    @classmethod
    def _origins(cls, v: list[str]) -> list[str]:
        out = []
        for origin in v:
            origin = origin.strip().rstrip("/")
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port]); no '*'")
            if any(c in origin for c in " ;,'\""):
                raise ValueError(f"{origin!r} is not an origin")
            out.append(origin)
        return out

    @field_validator("oidc_role_map")
    @classmethod
    def _role_map(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, roles in v.items():
            unknown = sorted(set(roles) - set(ROLES))
            if unknown:
                raise ValueError(f"{name!r} maps to unknown roles {unknown} (known: {ROLES})")
        return v

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.auth_mode == "oidc":
            missing = [n for n in ("oidc_issuer", "oidc_client_id") if not getattr(self, n)]
            if missing:
                raise ValueError(f"auth_mode oidc needs {', '.join(missing)}")
            assert self.oidc_issuer is not None
            if not self.oidc_issuer.startswith(("https://", "http://")):
                raise ValueError("oidc_issuer must be an http(s) URL")
        return self

    @property
    def https(self) -> bool:
        """Whether users reach the service over https (HSTS, Secure cookies)."""
        return self.public_base_url.startswith("https://")

    def check_bind(self, host: str) -> None:
        """Local mode serves one user on this machine: refuse a non-loopback interface."""
        if self.auth_mode == "local" and not _is_loopback(host):
            raise ValueError(
                f"local mode binds to loopback only, not {host!r}; use OMSCDS_AUTH_MODE=oidc "
                "to serve other machines"
            )
