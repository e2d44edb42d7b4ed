"""Prefetch: templates, reading what the client sent, and the FHIR-server fallback.

The client may satisfy none, some or all templates. A key it tried but found nothing for is
``null`` (a read) or an empty Bundle (a search); a missing key was not tried. Missing keys are
fetched from ``fhirServer`` with ``fhirAuthorization`` under one hard timeout, in parallel;
without them the service answers 412 (``PrefetchError``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from omscds.errors import InteropError
from omscds.interop.cdshooks.models import CdsRequest

__all__ = ["PrefetchError", "gather_prefetch", "iter_resources", "render_template"]

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_MAX_PAGES = 5


class PrefetchError(InteropError):
    """The data the service needs is neither prefetched nor fetchable (HTTP 412)."""


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """Replace ``{{context.x}}`` and ``{{userPractitionerId}}``-style tokens.

    >>> render_template("Patient/{{context.patientId}}", {"patientId": "p1"})
    'Patient/p1'
    """

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("context."):
            value = context.get(name.removeprefix("context."))
        else:
            user = str(context.get("userId", ""))
            rtype = name.removeprefix("user").removesuffix("Id")
            value = user.split("/", 1)[1] if user.startswith(rtype + "/") else None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise PrefetchError(f"prefetch token {name} has no value", path=f"context.{name}")
        return str(value)

    return _TOKEN.sub(sub, template)


def iter_resources(key: str, value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, resource)`` from one prefetch value: a resource, a Bundle, or null."""
    if value is None:
        return
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise InteropError("must be a FHIR resource or Bundle", path=f"prefetch.{key}")
    if value["resourceType"] != "Bundle":
        yield f"prefetch.{key}", value
        return
    for i, entry in enumerate(value.get("entry") or ()):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and isinstance(res.get("resourceType"), str):
            yield f"prefetch.{key}.entry[{i}]", res


async def _fetch_one(client: httpx.AsyncClient, base: str, query: str) -> Any:
    url = f"{base.rstrip('/')}/{query}"
    resp = await client.get(url)
    if resp.status_code == 404 and "?" not in query:
        return None  # a read that found nothing
    resp.raise_for_status()
    data = resp.json()
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        pages = 1
        while pages < _MAX_PAGES:
            nxt = next(
                (lk.get("url") for lk in data.get("link") or () if lk.get("relation") == "next"),
                None,
            )
            if not nxt or not str(nxt).startswith(base.rstrip("/")):
                break  # never follow a link off the client's FHIR server
            more = (await client.get(nxt)).raise_for_status().json()
            data.setdefault("entry", []).extend(more.get("entry") or [])
            data["link"] = more.get("link") or []
            pages += 1
    return data


async def gather_prefetch(
    req: CdsRequest,
    templates: Mapping[str, str],
    *,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """Every template's data: from ``req.prefetch``, else fetched, else PrefetchError (412)."""
    have = dict(req.prefetch or {})
    missing = {k: render_template(t, req.context) for k, t in templates.items() if k not in have}
    if not missing:
        return have
    if not (req.fhirServer and req.fhirAuthorization):
        raise PrefetchError(
            f"prefetch missing ({', '.join(sorted(missing))}) and no fhirServer with "
            "fhirAuthorization to fetch it",
            path="prefetch",
        )
    headers = {
        "Authorization": f"Bearer {req.fhirAuthorization.access_token}",
        "Accept": "application/fhir+json",
    }
    async with httpx.AsyncClient(
        headers=headers, timeout=timeout, transport=transport, follow_redirects=False
    ) as client:
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*(_fetch_one(client, req.fhirServer, q) for q in missing.values())),
                timeout=timeout,
            )
        except TimeoutError:
            raise PrefetchError(
                f"the FHIR server did not answer within {timeout:g} s", path="fhirServer"
            ) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise PrefetchError(
                f"the FHIR server could not be read ({type(exc).__name__})", path="fhirServer"
            ) from None
    have.update(dict(zip(missing, results, strict=True)))
    return have
