"""FHIR R4: ``POST /fhir/$assess`` (Bundle in, Bundle out). Errors are OperationOutcomes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from omscds.errors import InputError, InteropError
from omscds.interfaces.api.deps import get_kb
from omscds.interop.fhir import assessment_bundle, bundle_to_case, operation_outcome
from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case
from omscds.model.strict import loads_json
from omscds.reasoning import assess

__all__ = ["FHIR_JSON", "router"]

FHIR_JSON = "application/fhir+json"
router = APIRouter(prefix="/fhir", tags=["fhir"])

_BUNDLE_SCHEMA = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}


def _outcome(status: int, errors: list[tuple[str, str]], code: str = "invalid") -> JSONResponse:
    return JSONResponse(
        operation_outcome(errors, code=code), status_code=status, media_type=FHIR_JSON
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
    responses={
        200: {"content": {FHIR_JSON: {}}},
        400: {"content": {FHIR_JSON: {}}},
        422: {"content": {FHIR_JSON: {}}},
    },
)
async def fhir_assess(request: Request, kb: KnowledgeBase = Depends(get_kb)) -> JSONResponse:
    """Assess a Bundle (Patient, findings, urine HVA/VMA, imaging); see docs/fhir-mapping.md."""
    raw = await request.body()
    try:
        doc: Any = loads_json(raw)  # duplicate keys, NaN, depth and huge integers: 400
    except InputError as exc:
        return _outcome(400, [(exc.path or "", exc.message)], code="structure")
    now = dt.datetime.now(dt.UTC)
    try:
        ex = bundle_to_case(doc, kb, today=now.date())
        case = parse_case(ex.case)
        assessment = assess(case, kb)
    except InputError as exc:
        return _outcome(422, list(exc.errors))
    except InteropError as exc:
        return _outcome(400, [(exc.path or "", exc.message)], code="structure")
    patient_ref = f"Patient/{ex.patient_id}" if ex.patient_id else None
    bundle = assessment_bundle(
        assessment,
        patient_ref=patient_ref,
        basis=ex.basis,
        now=now,
        warnings=ex.warnings,
        terms=kb.terminology,
    )
    return JSONResponse(bundle, media_type=FHIR_JSON)
