"""Prefetch: templates, reading what the client sent, and the FHIR-server fallback.

The client may satisfy none, some or all templates (CDS Hooks 2.0 §Prefetch). A key it tried
but found nothing for is ``null`` (a read) or an empty Bundle (a search); a missing key was not
tried; an OperationOutcome (alone, or as a Bundle entry) means the client failed to get it.
Missing, failed and malformed keys are fetched from ``fhirServer`` (with the bearer token of
``fhirAuthorization`` when there is one: an open server needs none) in parallel under one hard
timeout. What still cannot be had is returned as a note for the card; only the Patient (the
age) is indispensable: without it the service answers 412 (``PrefetchError``).

Safety: ``fhirServer`` is fetched from only when it is on the operator's allow-list
(``FhirServers``: base URLs per trusted issuer or for any caller), so a client can neither make
the service request an arbitrary URL nor have the EHR's token sent there; every token value is
URL-encoded into the query; ``next`` links are followed only to the same scheme, host, port and
path prefix as ``fhirServer``; redirects are not followed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from omscds.errors import InputError, InteropError
from omscds.interop.cdshooks.fhirserver import FhirServers, same_server
from omscds.interop.cdshooks.models import CdsRequest
from omscds.interop.fhir.inbound import extract_case
from omscds.interop.fhir.jsonshape import as_list
from omscds.interop.intake import Intake, Notice
from omscds.knowledge import KnowledgeBase
from omscds.model.strict import loads_json

__all__ = [
    "PrefetchError",
    "Prefetched",
    "gather_prefetch",
    "iter_resources",
    "read_prefetch",
    "render_template",
    "same_server",
]

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_MAX_PAGES = 5
#: the most one FHIR response may hold (a 500-Observation page is about 120 KB)
MAX_BYTES = 20_000_000
#: the key without which nothing can be assessed (the age comes from the Patient)
ESSENTIAL = "patient"


class PrefetchError(InteropError):
    """The data the service needs is neither prefetched nor fetchable (HTTP 412)."""


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """Replace ``{{context.x}}`` and ``{{userPractitionerId}}``-style tokens, URL-encoded.

    >>> render_template("Patient/{{context.patientId}}", {"patientId": "p1"})
    'Patient/p1'
    >>> render_template("Patient/{{context.patientId}}", {"patientId": "../admin?x="})
    'Patient/..%2Fadmin%3Fx%3D'
    """

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("context."):
            value = context.get(name.removeprefix("context."))
        else:
            user = context.get("userId")
            user = user if isinstance(user, str) else ""
            rtype = name.removeprefix("user").removesuffix("Id")
            value = user.split("/", 1)[1] if user.startswith(rtype + "/") else None
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise PrefetchError(f"prefetch token {name} has no value", path=f"context.{name}")
        return urllib.parse.quote(str(value), safe="")

    return _TOKEN.sub(sub, template)


def _usable(value: Any) -> bool:
    """A value the reader can use: null (nothing there) or a resource that is not an error."""
    if value is None:
        return True
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        return False
    if value["resourceType"] == "OperationOutcome":
        return False
    if value["resourceType"] == "Bundle":
        entries = value.get("entry", [])
        if not isinstance(entries, list):
            return False
        for entry in entries:
            res = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(res, dict) and res.get("resourceType") == "OperationOutcome":
                search = entry.get("search")
                if not (isinstance(search, dict) and search.get("mode") == "outcome"):
                    return False
                if any(
                    isinstance(i, dict) and i.get("severity") in ("error", "fatal")
                    for i in as_list(res.get("issue"))
                ):
                    return False
    return True


def iter_resources(key: str, value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path, resource)`` from one prefetch value: a resource, a Bundle, or null."""
    if value is None:
        return
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise InteropError("must be a FHIR resource or Bundle", path=f"prefetch.{key}")
    if value["resourceType"] != "Bundle":
        yield f"prefetch.{key}", value
        return
    entries = value.get("entry")
    for i, entry in enumerate(entries if isinstance(entries, list) else ()):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and isinstance(res.get("resourceType"), str):
            yield f"prefetch.{key}.entry[{i}]", res


@dataclass
class Prefetched:
    """The data per prefetch key, and a note for each key that could not be had."""

    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)


async def _get(client: httpx.AsyncClient, url: str, *, read: bool) -> Any:
    """GET one URL: decoded strictly (depth, duplicates, NaN), at most ``MAX_BYTES``.

    ``read`` (an instance read): 404 means "nothing there" and gives None.
    """
    async with client.stream("GET", url) as resp:
        if read and resp.status_code == 404:
            return None
        resp.raise_for_status()
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > MAX_BYTES:
                raise ValueError(f"more than {MAX_BYTES} bytes")
            chunks.append(chunk)
    try:
        return loads_json(b"".join(chunks))
    except InputError as exc:
        raise ValueError(exc.message) from None


async def _fetch_one(client: httpx.AsyncClient, base: str, query: str) -> Any:
    data = await _get(client, f"{base.rstrip('/')}/{query}", read="?" not in query)
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        pages = 1
        while pages < _MAX_PAGES:
            links = as_list(data.get("link"))
            nxt = next(
                (
                    lk.get("url")
                    for lk in links
                    if isinstance(lk, dict) and lk.get("relation") == "next"
                ),
                None,
            )
            if not isinstance(nxt, str) or not nxt:
                break
            nxt = urllib.parse.urljoin(base.rstrip("/") + "/", nxt)
            if not same_server(base, nxt):
                break  # never send the EHR's token off its FHIR server
            more = await _get(client, nxt, read=False)
            if not isinstance(more, dict):
                break
            data["entry"] = as_list(data.get("entry")) + as_list(more.get("entry"))
            data["link"] = as_list(more.get("link"))
            pages += 1
    return data


async def gather_prefetch(
    req: CdsRequest,
    templates: Mapping[str, str],
    *,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    servers: FhirServers | None = None,
    issuer: str | None = None,
) -> Prefetched:
    """Every template's data: from ``req.prefetch``, else fetched, else a note (or 412).

    Fetched only from a ``fhirServer`` that ``servers`` permits for ``issuer`` (the verified
    JWT ``iss``; None when unauthenticated); with no allow-list nothing is fetched.
    """
    sent = req.prefetch if isinstance(req.prefetch, dict) else {}
    out = Prefetched(data={k: v for k, v in sent.items() if k in templates and _usable(v)})
    for key in templates:
        if key in sent and key not in out.data:
            out.notes.append(f"prefetch {key}: the client sent an error or malformed data")
    missing = {
        k: render_template(t, req.context) for k, t in templates.items() if k not in out.data
    }
    if not missing:
        return out
    base = req.fhirServer
    if not base:
        return _unavailable(out, missing, "no fhirServer to fetch it from")
    if not (servers or FhirServers()).permits(base, issuer):
        return _unavailable(out, missing, "fhirServer is not on this service's allow-list")
    headers = {"Accept": "application/fhir+json"}
    if req.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {req.fhirAuthorization.access_token}"
    async with httpx.AsyncClient(
        headers=headers, timeout=timeout, transport=transport, follow_redirects=False
    ) as client:
        tasks = [asyncio.ensure_future(_fetch_one(client, base, q)) for q in missing.values()]
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        failed: dict[str, str] = {}
        for key, task in zip(missing, tasks, strict=True):
            if task in pending:
                failed[key] = f"the FHIR server did not answer within {timeout:g} s"
                continue
            exc = task.exception()
            if exc is None and _usable(task.result()):
                out.data[key] = task.result()
            elif exc is None:
                failed[key] = "the FHIR server sent an error or malformed data"
            elif isinstance(exc, httpx.HTTPStatusError):
                failed[key] = f"the FHIR server could not be read (HTTP {exc.response.status_code})"
            elif isinstance(exc, httpx.HTTPError | ValueError):
                failed[key] = f"the FHIR server could not be read ({type(exc).__name__})"
            else:
                raise exc
    if ESSENTIAL in failed:
        raise PrefetchError(f"{ESSENTIAL}: {failed[ESSENTIAL]}", path="fhirServer")
    out.notes += [f"{key} not available: {why}" for key, why in failed.items()]
    return out


def _unavailable(out: Prefetched, missing: Mapping[str, str], why: str) -> Prefetched:
    if ESSENTIAL in missing:
        raise PrefetchError(
            f"prefetch missing ({', '.join(sorted(missing))}), and {why}", path="prefetch"
        )
    out.notes += [f"{key} not available: not prefetched, and {why}" for key in missing]
    return out


def read_prefetch(got: Prefetched, kb: KnowledgeBase, *, today: dt.date, patient_id: str) -> Intake:
    """The typed case of the prefetched (or fetched) data, for the patient of the hook call.

    Only a missing age (no usable Patient) is an error (InteropError, 422); every other
    problem is a warning, as are the keys that could not be had (``got.notes``).
    """
    resources = itertools.chain.from_iterable(iter_resources(k, v) for k, v in got.data.items())
    ex = extract_case(resources, kb, today=today, patient_id=patient_id)
    if ex.problems:
        if "age_months" not in ex.case:
            raise InteropError(ex.problems[0][1], path=ex.problems[0][0])
        ex.warnings.extend(Notice(p, "", m) for p, m in ex.problems)
        ex.problems.clear()
    ex.warnings[:0] = [Notice("prefetch", "", note) for note in got.notes]
    return ex.intake()
