"""Service settings from the environment (prefix ``OMSCDS_``), via pydantic-settings."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything the service reads from the environment.

    ``OMSCDS_CDS_TRUSTED_ISSUERS`` is a JSON object mapping each trusted JWT issuer to its JWKS,
    given as a file path or an ``http(s)://`` URL, e.g.
    ``{"https://ehr.example": "/etc/jwks.json"}``.
    """

    model_config = SettingsConfigDict(env_prefix="OMSCDS_", extra="ignore")

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The base URL clients use to reach this service; JWT `aud` is checked "
        "against the service URL under it.",
    )
    cds_trusted_issuers: dict[str, str] = Field(default_factory=dict)
    insecure_dev: bool = Field(
        default=False, description="Skip CDS Hooks JWT checks (local demos only; loud when on)."
    )
    knowledge_dir: str | None = Field(default=None, description="Alternative knowledge base.")
    max_request_bytes: int = Field(default=2_000_000, ge=1024)
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
        default=None, description="SQLite file for CDS Hooks feedback; in memory when unset."
    )
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v
