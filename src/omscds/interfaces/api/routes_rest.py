"""REST: ``POST /api/v1/assess``, ``POST /api/v1/validate``, ``GET /api/v1/kb``,
``POST /api/v1/import/phenopacket``. Plain ``def`` routes: FastAPI runs them in worker
threads, so assessing never blocks the event loop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from omscds.interfaces.api.auth import CLINICIAN, require
from omscds.interfaces.api.deps import get_kb, latest_today
from omscds.interfaces.api.guards import StrictJsonRoute
from omscds.interfaces.service import assess_source
from omscds.interop.phenopackets import phenopacket_to_case
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, parse_case
from omscds.reasoning import resolve

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["cases"], route_class=StrictJsonRoute)

_PROBLEM: dict[str, Any] = {
    "description": "Invalid input (RFC 9457 problem details naming each field path)",
    "content": {"application/problem+json": {}},
}
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated", "content": {"application/problem+json": {}}},
    403: {"description": "Missing role", "content": {"application/problem+json": {}}},
}
_CASE_BODY = Body(
    ...,
    description="A case (shared/spec/case-format.md; `omscds schema case`).",
    examples=[{"age_months": 19, "findings": {"opsoclonus": "present", "ataxia": "present"}}],
)
_clinician = [Depends(require(CLINICIAN))]


@router.post(
    "/assess",
    response_model=Assessment,
    responses={400: _PROBLEM, 422: _PROBLEM, **_AUTH},
    dependencies=_clinician,
)
def assess_case(
    case: dict[str, Any] = _CASE_BODY, kb: KnowledgeBase = Depends(get_kb)
) -> Assessment:
    """Assess a case: OMS criteria, differential, tumour probability, work-up, alerts."""
    return assess_source("case", case, kb, today=latest_today()).assessment


@router.post(
    "/validate", responses={400: _PROBLEM, 422: _PROBLEM, **_AUTH}, dependencies=_clinician
)
def validate_case(
    case: dict[str, Any] = _CASE_BODY, kb: KnowledgeBase = Depends(get_kb)
) -> dict[str, Any]:
    """Check a case without assessing it; 422 names every problem."""
    parsed = parse_case(case, today=latest_today())
    rc = resolve(parsed, kb)
    return {"valid": True, "case_id": parsed.case_id, "warnings": list(rc.warnings)}


@router.get("/kb", responses=_AUTH, dependencies=[Depends(require())])
def knowledge_base(kb: KnowledgeBase = Depends(get_kb)) -> dict[str, Any]:
    """Version, checksum and size of the knowledge base in use."""
    m = kb.manifest
    return {
        "version": kb.version,
        "sha256": kb.sha256,
        "as_of": str(m.as_of),
        "hpo_release": m.hpo_release,
        "sources": len(kb.sources),
        "findings": sorted(kb.findings),
        "assumptions": len(kb.assumptions()),
    }


@router.post(
    "/import/phenopacket",
    responses={400: _PROBLEM, 422: _PROBLEM, **_AUTH},
    dependencies=_clinician,
)
def import_phenopacket(
    phenopacket: dict[str, Any] = Body(..., description="A GA4GH Phenopacket v2 (JSON)."),
    age_months: float | None = Query(
        None,
        ge=0,
        le=1800,
        description="The subject's age in months, for a packet that gives no time element "
        "(used only then; the packet's own age always wins).",
    ),
    kb: KnowledgeBase = Depends(get_kb),
) -> dict[str, Any]:
    """Convert a Phenopacket v2 into an omscds case (validated)."""
    case = phenopacket_to_case(phenopacket, kb, age_months=age_months)
    parse_case(case, today=latest_today())
    return case
