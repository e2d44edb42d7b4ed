"""Pure reasoning over a case and the frozen knowledge base: no I/O, no clock, no environment."""

from __future__ import annotations

from omscds.reasoning.criteria import evaluate_criteria, oms_status
from omscds.reasoning.engine import assess, assess_data, parse_checked
from omscds.reasoning.findings import ResolvedCase, resolve
from omscds.reasoning.orders import review_orders, reviewed_modalities

__all__ = [
    "ResolvedCase",
    "assess",
    "assess_data",
    "evaluate_criteria",
    "oms_status",
    "parse_checked",
    "resolve",
    "review_orders",
    "reviewed_modalities",
]
