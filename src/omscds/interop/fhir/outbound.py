"""FHIR R4 out: an assessment as a Bundle of RiskAssessment, ServiceRequest (proposals),
DetectedIssue and an OMS-criteria Observation, built and validated with ``fhir.resources``
(its R4B models, element-identical to R4 for these types; interop-notes.md §4.3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.riskassessment import RiskAssessment
from fhir.resources.R4B.servicerequest import ServiceRequest

from omscds.interop.fhir import codes as c
from omscds.interop.fhir.staging import staging_entries
from omscds.interop.uuids import random_uuid
from omscds.knowledge.codes import Code
from omscds.knowledge.terminology import Terminology
from omscds.model import REGIONS, Alert, Assessment, Recommendation

__all__ = [
    "INTERVAL_EXTENSION",
    "assessment_bundle",
    "detected_issue",
    "input_warnings",
    "oms_observation",
    "operation_outcome",
    "risk_assessment",
    "service_request",
    "service_requests",
]

INTERVAL_EXTENSION = "https://omscds.org/fhir/StructureDefinition/probability-interval"
_SEVERITY = {"critical": "high", "warning": "moderate", "info": "low"}
_PRIORITY = {"urgent": "urgent", "soon": "asap", "routine": "routine"}
_CATEGORY = {
    "imaging": (c.SNOMED_SYSTEM, "363679005", "Imaging"),
    "laboratory": (c.SNOMED_SYSTEM, "108252007", "Laboratory procedure"),
}
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NEUROBLASTOMA = {
    "system": "http://human-phenotype-ontology.org",
    "code": "HP:0003006",
    "display": "Neuroblastoma",
}


def _coding(system: str, code: str, display: str = "") -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _check(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Validate with the fhir.resources model and return plain JSON without nulls."""
    out: dict[str, Any] = model.model_validate(data).model_dump(mode="json", exclude_none=True)
    return out


def _ref(patient_ref: str | None) -> dict[str, str]:
    return {"reference": patient_ref} if patient_ref else {"display": "the patient"}


def risk_assessment(
    a: Assessment,
    *,
    patient_ref: str | None,
    basis: Sequence[str],
    now: dt.datetime,
    terms: Terminology | None = None,
) -> dict[str, Any]:
    t = a.tumour
    outcome = [
        _standard(code) for code in (terms.codes("conditions", "neuroblastoma") if terms else ())
    ]
    outcome = [cd for cd in outcome if cd["system"] != _NEUROBLASTOMA["system"]][:1]
    prediction: dict[str, Any] = {
        "outcome": {"coding": [*outcome, _NEUROBLASTOMA], "text": "Neuroblastic tumour"},
        "probabilityDecimal": t.probability,
        "extension": [
            {
                "url": INTERVAL_EXTENSION,
                "valueRange": {"low": {"value": t.interval[0]}, "high": {"value": t.interval[1]}},
            }
        ],
    }
    if t.explanation:
        prediction["rationale"] = t.explanation
    data: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "preliminary",
        "subject": _ref(patient_ref),
        "occurrenceDateTime": now.isoformat(timespec="seconds"),
        "method": {
            "coding": [
                _coding(
                    c.omscds_system("method"),
                    "tumour-probability",
                    f"omscds {a.omscds_version}, knowledge base {a.knowledge_base.version}",
                )
            ]
        },
        "code": {"text": f"Tumour search status: {t.status}"},
        "prediction": [prediction],
        "note": [{"text": a.disclaimer}],
    }
    if basis:
        data["basis"] = [{"reference": r} for r in basis]
    return _check(RiskAssessment, data)


def _standard(code: Code) -> dict[str, str]:
    return _coding(code.uri, code.code, code.display)


_Parts = list[tuple[list[dict[str, str]], list[str], str]]


def _order_parts(modality: str | None, regions: Sequence[str], terms: Terminology | None) -> _Parts:
    """(codings, regions, label) of each ServiceRequest an order needs, fresh objects each call.

    Worked out once per (modality, regions) for a terminology (``Terminology.memo``: a card
    builds them for every order on every hook call); the caller gets copies it may change.
    """
    if terms is None:
        return _work_out_parts(modality, regions, None)
    key = f"fhir.order_parts.{modality}.{'|'.join(regions)}"
    kept = terms.memo(key, lambda: _work_out_parts(modality, regions, terms))
    return [([dict(cd) for cd in codings], list(where), label) for codings, where, label in kept]


def _work_out_parts(
    modality: str | None, regions: Sequence[str], terms: Terminology | None
) -> _Parts:
    """(codings, regions, label) of each ServiceRequest an order needs.

    A standard procedure code names one study, so an order for several regions that no single
    code covers becomes one request per region; urine catecholamines become an HVA and a VMA
    request. omscds' private modality code is always the last coding.
    """
    if not modality:
        return [([], list(regions), "")]
    private = _coding(c.omscds_system("modality"), modality)
    if terms is None:
        return [([private], list(regions), "")]
    if modality == "urine_catecholamines":
        parts: _Parts = []
        for concept in ("urine_hva", "urine_vma"):
            codes = terms.codes("procedures", concept)
            if codes:
                parts.append(([_standard(codes[0]), private], [], codes[0].display))
        return parts or [([private], list(regions), "")]
    # one code for the whole order (MIBG whole body, CT abdomen and pelvis, EEG), else per region
    whole = terms.procedure(modality, regions)
    if whole is None and not regions:
        whole = terms.procedure(modality, ["whole_body"])
    if whole is not None:
        return [([_standard(whole.codes[0].as_code()), private], list(regions), "")]
    where = [r for r in regions if r != "whole_body"]
    singles = [terms.procedure(modality, [r]) for r in where]
    if where and all(singles):
        return [
            ([_standard(e.codes[0].as_code()), private], [r], f"{modality.upper()} {r}")
            for e, r in zip(singles, where, strict=True)
            if e is not None
        ]
    return [([private], list(regions), "")]


def service_requests(
    rec: Recommendation | None,
    *,
    patient_ref: str | None,
    terms: Terminology | None = None,
    reason_ref: str | None = None,
    modality: str | None = None,
    regions: Sequence[str] = (),
    kind: str = "imaging",
    text: str = "",
    note: str = "",
    validate: bool = True,
) -> list[dict[str, Any]]:
    """ServiceRequest proposals for a recommendation (or an explicit modality and regions).

    Codes come from the knowledge base's terminology (CPT/LOINC first, omscds' modality code as
    an extra coding), so an EHR can act on them. ``validate=False`` skips the fhir.resources
    round trip (about 1.5 ms per resource) on the CDS Hooks hot path; the tests validate every
    card suggestion's resource with fhir.resources.
    """
    if rec is not None:
        modality, regions, kind = rec.modality, rec.regions, rec.kind
        text = rec.title or text
        note = rec.rationale
    parts = _order_parts(modality, regions, terms)
    out = []
    for codings, where_all, label in parts:
        where = [r for r in where_all if r in REGIONS]
        part_text = text or " ".join(filter(None, [modality or kind, "of", ", ".join(where)]))
        if len(parts) > 1:
            part_text = f"{part_text.strip()} ({label or ', '.join(where)})"
        data: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": random_uuid(),
            "status": "draft",
            "intent": "proposal",
            "subject": _ref(patient_ref),
            "code": {"coding": codings, "text": part_text.strip()}
            if codings
            else {"text": part_text.strip()},
        }
        if kind in _CATEGORY:
            data["category"] = [{"coding": [_coding(*_CATEGORY[kind])]}]
        if where:
            data["bodySite"] = [{"coding": [_region_coding(r, terms)], "text": r} for r in where]
        if rec is not None:
            data["priority"] = _PRIORITY[rec.urgency]
            data["identifier"] = [{"system": c.omscds_system("recommendation"), "value": rec.id}]
        if reason_ref:
            data["reasonReference"] = [{"reference": reason_ref}]
        if note:
            data["note"] = [{"text": note}]
        out.append(_check(ServiceRequest, data) if validate else data)
    return out


def _region_coding(region: str, terms: Terminology | None) -> dict[str, str]:
    """The body-site coding of a region (a fresh dict; worked out once per terminology)."""
    if terms is None:
        return _work_out_region(region, None)
    return dict(terms.memo(f"fhir.region.{region}", lambda: _work_out_region(region, terms)))


def _work_out_region(region: str, terms: Terminology | None) -> dict[str, str]:
    code = terms.region_code(region) if terms is not None else None
    if code is not None:
        return _standard(code)
    return _coding(c.omscds_system("region"), region)


def service_request(
    rec: Recommendation | None,
    *,
    patient_ref: str | None,
    terms: Terminology | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """The first ServiceRequest of ``service_requests`` (one request per order when it fits)."""
    return service_requests(rec, patient_ref=patient_ref, terms=terms, **kw)[0]


def detected_issue(alert: Alert, *, patient_ref: str | None, now: dt.datetime) -> dict[str, Any]:
    data = {
        "resourceType": "DetectedIssue",
        "status": "preliminary",
        "severity": _SEVERITY[alert.level],
        "code": {"coding": [_coding(c.omscds_system("alert"), alert.id)]},
        "patient": _ref(patient_ref),
        "identifiedDateTime": now.isoformat(timespec="seconds"),
        "detail": alert.message,
        "reference": "https://omscds.org/alerts/" + alert.id,
    }
    return _check(DetectedIssue, data)


def oms_observation(
    a: Assessment, *, patient_ref: str | None, now: dt.datetime, terms: Terminology | None = None
) -> dict[str, Any]:
    components = []
    for crit in a.oms.criteria:
        comp: dict[str, Any] = {
            "code": {"coding": [_coding(c.omscds_system("oms-criterion"), crit.id, crit.label)]}
        }
        if crit.met is None:
            comp["dataAbsentReason"] = {
                "coding": [
                    _coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown")
                ]
            }
        else:
            comp["valueBoolean"] = crit.met
        components.append(comp)
    data = {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [{"coding": [_coding(_OBS_CATEGORY, "exam")]}],
        "code": {
            "coding": [
                *(
                    _standard(code)
                    for code in (terms.codes("conditions", "oms")[:1] if terms else ())
                ),
                _coding(c.omscds_system("concept"), "oms-criteria", "OMS diagnostic criteria"),
            ]
        },
        "subject": _ref(patient_ref),
        "effectiveDateTime": now.isoformat(timespec="seconds"),
        "valueCodeableConcept": {
            "coding": [_coding(c.omscds_system("oms-status"), a.oms.status)],
            "text": a.oms.explanation or a.oms.status,
        },
        "component": components,
    }
    return _check(Observation, data)


def assessment_bundle(
    a: Assessment,
    *,
    patient_ref: str | None,
    basis: Sequence[str] = (),
    now: dt.datetime,
    warnings: Sequence[Any] = (),
    terms: Terminology | None = None,
) -> dict[str, Any]:
    """The ``$assess`` response: a collection Bundle; entries cross-reference by ``urn:uuid``.

    ``warnings`` (the reader's notices: what was not understood or used with a caveat) become
    one OperationOutcome entry of ``warning`` issues, each naming the FHIR path and resource.
    """
    ra_url = f"urn:uuid:{random_uuid()}"
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": ra_url,
            "resource": risk_assessment(
                a, patient_ref=patient_ref, basis=basis, now=now, terms=terms
            ),
        },
        {
            "fullUrl": f"urn:uuid:{random_uuid()}",
            "resource": oms_observation(a, patient_ref=patient_ref, now=now, terms=terms),
        },
    ]
    entries += staging_entries(a, patient_ref=patient_ref, now=now)  # issue 14: stage, risk
    for rec in a.recommendations:
        if rec.kind in ("imaging", "laboratory"):
            for sr in service_requests(
                rec, patient_ref=patient_ref, terms=terms, reason_ref=ra_url
            ):
                entries.append({"fullUrl": f"urn:uuid:{sr['id']}", "resource": sr})
    for alert in a.alerts:
        entries.append(
            {
                "fullUrl": f"urn:uuid:{random_uuid()}",
                "resource": detected_issue(alert, patient_ref=patient_ref, now=now),
            }
        )
    if warnings:
        entries.append(
            {"fullUrl": f"urn:uuid:{random_uuid()}", "resource": input_warnings(warnings)}
        )
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.isoformat(timespec="seconds"),
        "meta": {"tag": [_coding(c.omscds_system("kb-version"), a.knowledge_base.version)]},
        "entry": entries,
    }
    return bundle  # each resource was validated above; re-validating the Bundle only costs time


def input_warnings(warnings: Sequence[Any]) -> dict[str, Any]:
    """An OperationOutcome listing what in the input was not used (``inbound.Notice``-like)."""
    issues = []
    for w in warnings:
        issue: dict[str, Any] = {
            "severity": "warning",
            "code": "informational",
            "diagnostics": str(w),
        }
        path = getattr(w, "path", "")
        if path:
            issue["expression"] = [path]
        issues.append(issue)
    return _check(OperationOutcome, {"resourceType": "OperationOutcome", "issue": issues})


def operation_outcome(
    errors: Sequence[tuple[str, str]], *, code: str = "invalid", severity: str = "error"
) -> dict[str, Any]:
    """An OperationOutcome with one issue per (path, message)."""
    issues = [
        {
            "severity": severity,
            "code": code,
            "diagnostics": msg,
            **({"expression": [path]} if path and path != "(root)" else {}),
        }
        for path, msg in errors
    ] or [{"severity": severity, "code": code}]
    return _check(OperationOutcome, {"resourceType": "OperationOutcome", "issue": issues})
