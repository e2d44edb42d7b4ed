"""Domain objects: the case in, the assessment out (the public contract)."""

from __future__ import annotations

from omscds.model.assessment import (
    Alert,
    Assessment,
    AssumptionNote,
    CriterionResult,
    DifferentialEntry,
    KnowledgeBaseRef,
    NextTest,
    OmsResult,
    OrderReview,
    PathwayResult,
    PathwayStep,
    Recommendation,
    SeverityResult,
    TumourEvidence,
    TumourResult,
)
from omscds.model.case import (
    BODY_REGIONS,
    MODALITIES,
    REGIONS,
    Case,
    History,
    Severity,
    TestResult,
    parse_case,
)

__all__ = [
    "BODY_REGIONS",
    "MODALITIES",
    "REGIONS",
    "Alert",
    "Assessment",
    "AssumptionNote",
    "Case",
    "CriterionResult",
    "DifferentialEntry",
    "History",
    "KnowledgeBaseRef",
    "NextTest",
    "OmsResult",
    "OrderReview",
    "PathwayResult",
    "PathwayStep",
    "Recommendation",
    "Severity",
    "SeverityResult",
    "TestResult",
    "TumourEvidence",
    "TumourResult",
    "parse_case",
]
