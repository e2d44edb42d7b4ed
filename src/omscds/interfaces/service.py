"""The application service: what every face calls to assess a case, whatever it came as.

One path through the house: a face reads its input with a typed adapter (the source kinds
below, or a CDS hook call's prefetch), gets an ``Intake`` (a validated ``Case``, where each
field came from, what was not understood) and hands it here; this calls
``reasoning.assess(case, kb)`` and returns the assessment with the intake. The CLI, the REST
API, the web form, FHIR ``$assess`` and CDS Hooks all go through ``assess_source`` or
``assess_intake``; none of them calls the engine itself, so the same case gives the same
assessment on every face (``tests/interfaces/test_service.py``).

Source kinds are a registry (``SOURCES``): adding one is a reader and an entry, not a tour of
the faces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omscds.errors import InputError
from omscds.interop.intake import Intake
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, check_not_future
from omscds.reasoning import assess, parse_checked

if TYPE_CHECKING:  # the FHIR and CDS stacks load only when a face uses them (CLI start-up)
    import httpx

    from omscds.interop.cdshooks import CdsRequest, CdsResponse, FeedbackStore, FhirServers

__all__ = ["SOURCES", "Assessed", "assess_intake", "assess_source", "read_source", "run_hook"]


@dataclass(frozen=True)
class Assessed:
    """An assessment and the intake it was made from (provenance, what was not understood)."""

    assessment: Assessment
    intake: Intake


def read_case(data: Any, kb: KnowledgeBase, *, today: dt.date | None = None) -> Intake:
    """A case document (JSON/YAML decoded): the contract itself, read strictly."""
    return Intake(case=parse_checked(data, kb, today=today), provenance={})


def _read_bundle(data: Any, kb: KnowledgeBase, *, today: dt.date | None = None) -> Intake:
    from omscds.interop.fhir.inbound import read_bundle

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise InputError("the body must be a FHIR Bundle", path="resourceType")
    return read_bundle(data, kb, today=today or dt.date.today())


def _read_phenopacket(
    data: Any, kb: KnowledgeBase, *, today: dt.date | None = None, age_months: float | None = None
) -> Intake:
    from omscds.interop.phenopackets import read_phenopacket

    return read_phenopacket(data, kb, age_months=age_months)


#: source kind -> its reader (decoded document, knowledge base, today, options) -> Intake
SOURCES: Mapping[str, Callable[..., Intake]] = {
    "case": read_case,
    "fhir": _read_bundle,
    "phenopacket": _read_phenopacket,
}


def read_source(
    kind: str, data: Any, kb: KnowledgeBase, *, today: dt.date | None = None, **options: Any
) -> Intake:
    """Read a decoded document of ``kind`` (one of ``SOURCES``) into an ``Intake``."""
    reader = SOURCES.get(kind)
    if reader is None:
        raise InputError(f"unknown source kind {kind!r}; one of {', '.join(SOURCES)}", path="kind")
    intake = reader(data, kb, today=today, **options)
    if today is not None:
        check_not_future(intake.case, today)  # every source, not only case documents
    return intake


def assess_intake(intake: Intake, kb: KnowledgeBase) -> Assessed:
    """Assess what an adapter read."""
    return Assessed(assessment=assess(intake.case, kb), intake=intake)


def assess_source(
    kind: str, data: Any, kb: KnowledgeBase, *, today: dt.date | None = None, **options: Any
) -> Assessed:
    """Read and assess: the one call behind the CLI, REST, the web form and FHIR ``$assess``.

    ``today``: refuse dates after it (the face passes its clock; the core never reads one).

    >>> from omscds.knowledge import load_knowledge
    >>> a = assess_source("case", {"age_months": 20, "findings": {"opsoclonus": "present"}},
    ...                   load_knowledge())
    >>> a.assessment.tumour.status
    'search_incomplete'
    """
    return assess_intake(read_source(kind, data, kb, today=today, **options), kb)


async def run_hook(
    service_id: str,
    req: CdsRequest,
    kb: KnowledgeBase,
    *,
    today: dt.date,
    fetch_timeout: float,
    app_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    issued: FeedbackStore | None = None,
    one_card: bool = True,
    fhir_servers: FhirServers | None = None,
    issuer: str | None = None,
) -> CdsResponse:
    """Answer one CDS hook call: read it (interop), assess it (here), map it to cards (interop).

    Raises PrefetchError (412), InputError/InteropError (400/422).
    """
    from omscds.interop.cdshooks import answer_hook, prepare_hook

    call = await prepare_hook(
        service_id,
        req,
        kb,
        today=today,
        fetch_timeout=fetch_timeout,
        transport=transport,
        fhir_servers=fhir_servers,
        issuer=issuer,
    )
    assessment = assess_intake(call.intake, kb).assessment if call.intake is not None else None
    return answer_hook(call, assessment, kb, app_url=app_url, issued=issued, one_card=one_card)
