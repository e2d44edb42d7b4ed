"""The CDS services omscds offers: reading a hook call (prefetch -> case) and mapping its
assessment to cards. The assessment itself is the application service's
(``omscds.interfaces.service.run_hook``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from omscds.errors import InputError
from omscds.interop.cdshooks.cards import alert_cards, order_warning_card, workup_card
from omscds.interop.cdshooks.feedback import FeedbackStore
from omscds.interop.cdshooks.fhirserver import FhirServers
from omscds.interop.cdshooks.models import Card, CdsRequest, CdsResponse, CdsService, Discovery
from omscds.interop.cdshooks.prefetch import gather_prefetch, iter_resources, read_prefetch
from omscds.interop.fhir import codes as c
from omscds.interop.fhir.jsonshape import codings
from omscds.interop.intake import Intake
from omscds.knowledge import KnowledgeBase
from omscds.knowledge.terminology import Terminology
from omscds.model import Assessment
from omscds.reasoning import review_orders, reviewed_modalities
from omscds.view import build_view

__all__ = [
    "PREFETCH",
    "SERVICES",
    "HookCall",
    "answer_hook",
    "discovery",
    "ordered_modalities",
    "prepare_hook",
]

_LEVEL = {"info": 0, "warning": 1, "critical": 2}

#: one set of templates for every service (the same data answers all three hooks)
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&_count=500",
    "conditions": "Condition?patient={{context.patientId}}&_count=200",
    "reports": "DiagnosticReport?patient={{context.patientId}}&_count=100",
    "studies": "ImagingStudy?patient={{context.patientId}}&_count=100",
}

SERVICES: dict[str, CdsService] = {
    s.id: s
    for s in (
        CdsService(
            hook="patient-view",
            id="omscds-patient-view",
            title="OMS and occult tumour work-up",
            description="For a patient with opsoclonus-myoclonus features: OMS criteria, the "
            "chance of a neuroblastic tumour, and the imaging and laboratory work-up still due.",
            prefetch=PREFETCH,
        ),
        CdsService(
            hook="order-select",
            id="omscds-order-select",
            title="OMS tumour search: order check",
            description="Warns when MIBG or urine catecholamines are selected for a child with "
            "OMS and no cross-sectional imaging, and proposes MRI of the uncovered regions.",
            prefetch=PREFETCH,
        ),
        CdsService(
            hook="order-sign",
            id="omscds-order-sign",
            title="OMS tumour search: order check at signing",
            description="The order-select check, repeated when the orders are signed.",
            prefetch=PREFETCH,
        ),
    )
}


def discovery() -> Discovery:
    return Discovery(services=list(SERVICES.values()))


def _draft_orders(req: CdsRequest) -> Iterator[tuple[str, dict[str, Any]]]:
    draft = req.context.get("draftOrders")
    if draft is None:
        raise InputError("draftOrders is required for order hooks", path="context.draftOrders")
    if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
        raise InputError("draftOrders must be a FHIR Bundle", path="context.draftOrders")
    selections = req.context.get("selections")
    wanted = (
        {s for s in selections if isinstance(s, str)}
        if isinstance(selections, list) and selections
        else None
    )
    for _path, res in iter_resources("draftOrders", draft):
        ref = f"{res.get('resourceType')}/{res.get('id')}"
        if wanted is None or ref in wanted:
            yield ref, res


def ordered_modalities(
    order: dict[str, Any], terms: Terminology, checked: frozenset[str]
) -> set[str]:
    """The reviewed modalities (``checked``) a ServiceRequest names (CPT, LOINC, SNOMED, ours).

    >>> from omscds.knowledge import load_knowledge
    >>> sr = {"resourceType": "ServiceRequest",
    ...       "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "78801"}]}}
    >>> kb = load_knowledge()
    >>> ordered_modalities(sr, kb.terminology, reviewed_modalities(kb))
    {'mibg'}
    """
    if order.get("resourceType") != "ServiceRequest":
        return set()
    found = set()
    for cd in codings(order.get("code")):
        entry = terms.entry("procedures", cd.sid, cd.code)
        analyte = terms.concept("observations", cd.sid, cd.code)
        if entry is not None and entry.modality in checked:
            found.add(entry.modality)
        elif analyte in ("hva", "vma") and "urine_catecholamines" in checked:
            found.add("urine_catecholamines")
        elif cd.system == c.omscds_system("modality") and cd.code in checked:
            found.add(cd.code)
    return found


@dataclass(frozen=True)
class HookCall:
    """A hook call read and checked: the case it carries (None: nothing to check, answer with
    no cards before any I/O), the draft orders under review, and what to say on the card."""

    service_id: str
    hook: str
    patient_id: str
    intake: Intake | None
    orders: tuple[tuple[str, frozenset[str]], ...] = ()
    warnings: tuple[object, ...] = ()


async def prepare_hook(
    service_id: str,
    req: CdsRequest,
    kb: KnowledgeBase,
    *,
    today: dt.date,
    fetch_timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
    fhir_servers: FhirServers | None = None,
    issuer: str | None = None,
) -> HookCall:
    """Read one hook call: the service, the orders it reviews, the prefetch (fetched from an
    allow-listed ``fhir_servers`` entry for the verified ``issuer`` when missing).

    Raises PrefetchError (412), InputError/InteropError (400/422). The assessment is the
    application service's (``interfaces.service``); this module only maps.
    """
    service = SERVICES[service_id]
    if req.hook != service.hook:
        raise InputError(f"this service answers {service.hook!r}, not {req.hook!r}", path="hook")
    patient_id = req.context.get("patientId")
    if not isinstance(patient_id, str) or not patient_id:
        raise InputError("patientId is required", path="context.patientId")
    orders: list[tuple[str, frozenset[str]]] = []
    if service.hook != "patient-view":
        # only orders the pathway reviews (pathway.yaml order_review); others need no I/O
        checked = reviewed_modalities(kb)
        orders = [
            (ref, frozenset(m))
            for ref, res in _draft_orders(req)
            if (m := ordered_modalities(res, kb.terminology, checked))
        ]
        if not orders:
            return HookCall(service_id, service.hook, patient_id, None)
    got = await gather_prefetch(
        req,
        PREFETCH,
        timeout=fetch_timeout,
        transport=transport,
        servers=fhir_servers,
        issuer=issuer,
    )
    intake = read_prefetch(got, kb, today=today, patient_id=patient_id)
    # the card lists the keys that could not be had as they are, then what was not understood
    warnings = tuple(w.why if w.path == "prefetch" else w for w in intake.warnings)
    return HookCall(service_id, service.hook, patient_id, intake, tuple(orders), warnings)


def answer_hook(
    call: HookCall,
    assessment: Assessment | None,
    kb: KnowledgeBase,
    *,
    app_url: str | None = None,
    issued: FeedbackStore | None = None,
    one_card: bool = True,
) -> CdsResponse:
    """The cards for an assessed call (``assessment`` None: the call had nothing to check).

    ``issued`` records the uuid of every card returned, so that feedback is accepted only for
    cards this service issued. ``one_card`` (the default) gives one concise card per call.
    """
    if assessment is None:
        return CdsResponse(cards=[])
    warnings = list(call.warnings)
    patient_ref = f"Patient/{call.patient_id}"
    view = build_view(assessment, kb)  # the card says what the reports say first
    cards: list[Card] = []
    if call.hook == "patient-view":
        card = workup_card(
            assessment,
            view=view,
            patient_ref=patient_ref,
            warnings=warnings,
            app_url=app_url,
            refs=kb.sources,
            terms=kb.terminology,
        )
        if card is not None and one_card:  # the alerts are in the card: no cards of their own
            cards = [card]
        else:
            alerts = alert_cards(assessment, kb.sources)
            if card is not None:
                cards = [card, *alerts]
            elif one_card:
                cards = sorted(alerts, key=lambda al: -_LEVEL[al.indicator])[:1]
            else:
                cards = alerts
    else:
        modalities = set().union(*(m for _, m in call.orders))
        card = order_warning_card(
            assessment,
            review_orders(assessment, modalities, kb),
            view=view,
            patient_ref=patient_ref,
            order_ids=[ref for ref, _ in call.orders],
            warnings=warnings,
            refs=kb.sources,
            terms=kb.terminology,
        )
        cards = [card] if card else []
    if issued is not None and cards:
        issued.issue(call.service_id, [card.uuid for card in cards])
    return CdsResponse(cards=cards)
