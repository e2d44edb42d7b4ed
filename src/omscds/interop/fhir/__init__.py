"""FHIR R4 in (plain dicts, fast) and out (validated with ``fhir.resources`` R4B models)."""

from __future__ import annotations

from omscds.interop.fhir.case_out import case_to_bundle
from omscds.interop.fhir.inbound import (
    Extraction,
    Intake,
    Notice,
    age_in_months,
    bundle_entries,
    bundle_to_case,
    extract_case,
    read_bundle,
)
from omscds.interop.fhir.outbound import (
    assessment_bundle,
    detected_issue,
    oms_observation,
    operation_outcome,
    risk_assessment,
    service_request,
    service_requests,
)
from omscds.interop.fhir.studies import REGION_EXTENSION, judge_marker

__all__ = [
    "REGION_EXTENSION",
    "Extraction",
    "Intake",
    "Notice",
    "age_in_months",
    "assessment_bundle",
    "bundle_entries",
    "bundle_to_case",
    "case_to_bundle",
    "detected_issue",
    "extract_case",
    "judge_marker",
    "oms_observation",
    "operation_outcome",
    "read_bundle",
    "risk_assessment",
    "service_request",
    "service_requests",
]
