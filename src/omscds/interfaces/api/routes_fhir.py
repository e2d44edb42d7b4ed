"""FHIR R4: ``POST /fhir/$assess`` (Bundle in, Bundle out). Errors are OperationOutcomes
(the error table renders them for every path under ``/fhir/``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from omscds.errors import InputError
from omscds.interfaces.api.auth import CLINICIAN, require
from omscds.interfaces.api.deps import get_kb, latest_today
from omscds.interfaces.api.problems import FHIR_JSON, BodyError
from omscds.interfaces.service import assess_source
from omscds.interop.fhir import assessment_bundle
from omscds.knowledge import KnowledgeBase
from omscds.model.strict import loads_json

__all__ = ["FHIR_JSON", "router"]

router = APIRouter(prefix="/fhir", tags=["fhir"])

_BUNDLE_SCHEMA = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}
_OUTCOME: dict[str, Any] = {"content": {FHIR_JSON: {}}}


def _assess_bundle(raw: bytes, kb: KnowledgeBase) -> dict[str, Any]:
    try:
        doc: Any = loads_json(raw)  # duplicate keys, NaN, depth and huge integers: 400
    except InputError as exc:
        raise BodyError(exc.message, path=exc.path, errors=exc.errors) from None
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        raise BodyError("the body must be a FHIR Bundle", path="resourceType")
    now = dt.datetime.now(dt.UTC)
    done = assess_source("fhir", doc, kb, today=latest_today())
    intake = done.intake
    patient_ref = f"Patient/{intake.patient_id}" if intake.patient_id else None
    return assessment_bundle(
        done.assessment,
        patient_ref=patient_ref,
        basis=intake.basis,
        now=now,
        warnings=intake.warnings,
        terms=kb.terminology,
    )


@router.post(
    "/$assess",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FHIR_JSON: {"schema": _BUNDLE_SCHEMA},
                "application/json": {"schema": _BUNDLE_SCHEMA},
            },
        }
    },
    responses={200: _OUTCOME, 400: _OUTCOME, 401: {}, 403: {}, 422: _OUTCOME},
    dependencies=[Depends(require(CLINICIAN))],
)
async def fhir_assess(request: Request, kb: KnowledgeBase = Depends(get_kb)) -> JSONResponse:
    """Assess a Bundle (Patient, findings, urine HVA/VMA, imaging); see docs/fhir-mapping.md."""
    raw = await request.body()
    bundle = await run_in_threadpool(_assess_bundle, raw, kb)
    return JSONResponse(bundle, media_type=FHIR_JSON)
