"""Which FHIR servers a hook call may send requests (and the EHR's token) to.

A CDS client names its FHIR server in ``fhirServer`` and may hand over a bearer token
(``fhirAuthorization``). Fetching from whatever URL a client sends is server-side request
forgery, and sending the token there leaks it. ``FhirServers`` is the allow-list the operator
configures: base URLs per trusted JWT issuer (``iss``), and under ``"*"`` for any caller. A
``fhirServer`` is fetched from only when it is on or under one of them, by the rule ``next``
links follow too (``same_server``): the same scheme, host and port, and a path under the base
path, compared on the URL as it will be sent (dot segments removed, as httpx does) and
refusing encoded dot segments and user-info that a server could read differently.

With nothing configured nothing is fetched: prefetch must then be complete (else the card says
what is missing, or the call is 412 without the Patient).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import httpx

from omscds.errors import InputError

__all__ = ["ANY_ISSUER", "FhirServers", "same_server", "server_base"]

#: the key under which base URLs allowed for every caller are listed
ANY_ISSUER = "*"

_Origin = tuple[str, str, int, str]


def _origin(url: str) -> _Origin | None:
    """(scheme, host, port, path) of an http(s) URL as httpx would send it, or None."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
        return None
    raw = parsed.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
    segments = urllib.parse.unquote(raw).replace("\\", "/").split("/")
    if any(s in (".", "..") for s in segments):
        return None  # an encoded dot segment: the server might resolve it, httpx does not
    port = parsed.port or (443 if scheme == "https" else 80)
    return scheme, parsed.host.lower(), port, raw


def server_base(url: str) -> str | None:
    """A base URL normalised (no query, fragment or user-info; no trailing slash), or None.

    >>> server_base("HTTPS://EHR.example/fhir/")
    'https://ehr.example/fhir'
    >>> server_base("https://user:pw@ehr.example/fhir") is None
    True
    """
    if not isinstance(url, str) or "?" in url or "#" in url:
        return None
    o = _origin(url)
    if o is None:
        return None
    default = 443 if o[0] == "https" else 80
    port = "" if o[2] == default else f":{o[2]}"
    return f"{o[0]}://{o[1]}{port}{o[3].rstrip('/')}"


def same_server(base: str, url: str) -> bool:
    """True when ``url`` is on ``base``'s scheme, host and port, under its path.

    >>> same_server("https://ehr.org/fhir", "https://ehr.org/fhir/Observation?page=2")
    True
    >>> same_server("https://ehr.org/fhir", "https://ehr.org.attacker.net/fhir/x")
    False
    >>> same_server("https://ehr.org/fhir", "https://ehr.org:8443/fhir/x")
    False
    >>> same_server("https://ehr.org/fhir", "https://ehr.org/fhirx/secret")
    False
    >>> same_server("https://ehr.org/fhir", "https://ehr.org/fhir/../admin")
    False
    >>> same_server("https://ehr.org/fhir", "https://ehr.org/fhir/%2e%2e/admin")
    False
    """
    b, u = _origin(base), _origin(url)
    if b is None or u is None:
        return False
    prefix = b[3].rstrip("/") + "/"
    return b[:3] == u[:3] and (u[3] + "/").startswith(prefix)


@dataclass(frozen=True)
class FhirServers:
    """The FHIR-server allow-list: issuer (or ``"*"``) -> normalised base URLs.

    >>> servers = FhirServers.parse({"https://ehr.example": ["https://ehr.example/fhir"]})
    >>> servers.permits("https://ehr.example/fhir/", "https://ehr.example")
    True
    >>> servers.permits("https://ehr.example/fhir", "https://other.example")
    False
    >>> FhirServers().permits("https://ehr.example/fhir", None)
    False
    """

    by_issuer: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def parse(cls, raw: Mapping[str, Iterable[str]] | None) -> FhirServers:
        """Validate a configured mapping; InputError names the entry that is not a base URL."""
        out: dict[str, tuple[str, ...]] = {}
        for issuer, urls in (raw or {}).items():
            if isinstance(urls, str):
                urls = [urls]
            bases = []
            for i, url in enumerate(urls):
                base = server_base(url)
                if base is None:
                    raise InputError(
                        f"{url!r} is not an http(s) base URL (no query, fragment or user-info)",
                        path=f"cds_fhir_servers[{issuer!r}][{i}]",
                    )
                bases.append(base)
            out[issuer] = tuple(bases)
        return cls(MappingProxyType(out))

    def allowed(self, issuer: str | None) -> tuple[str, ...]:
        """The bases a caller with this ``iss`` (None: unauthenticated) may name."""
        own = self.by_issuer.get(issuer, ()) if issuer else ()
        return (*own, *self.by_issuer.get(ANY_ISSUER, ()))

    def permits(self, fhir_server: str, issuer: str | None) -> bool:
        """May this caller's ``fhirServer`` be fetched from (and receive its token)?"""
        if server_base(fhir_server) is None:
            return False
        return any(same_server(base, fhir_server) for base in self.allowed(issuer))
