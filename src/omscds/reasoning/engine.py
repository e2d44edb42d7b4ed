"""The assessment engine: one case in, one explained assessment out. Pure: no I/O, no clock."""

from __future__ import annotations

from typing import Any

from omscds import __version__
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, Case, KnowledgeBaseRef, parse_case
from omscds.model.assessment import AssumptionNote
from omscds.reasoning.alerts import evaluate_alerts
from omscds.reasoning.criteria import evaluate_criteria
from omscds.reasoning.differential import METHOD, rank_differential
from omscds.reasoning.facts import derive_facts
from omscds.reasoning.findings import resolve
from omscds.reasoning.severity import score_severity
from omscds.reasoning.tumour import assess_tumour
from omscds.reasoning.workup import plan_workup

__all__ = ["assess", "assess_data"]


def assess(case: Case, kb: KnowledgeBase) -> Assessment:
    """Assess a parsed case against the knowledge base.

    Raises ``InputError`` (naming the field) for findings, test findings or severity items the
    knowledge base does not know.
    """
    rc = resolve(case, kb)
    oms = evaluate_criteria(rc, kb)
    differential = rank_differential(rc, kb)
    tumour = assess_tumour(rc, oms, kb)
    severity = score_severity(case, kb)
    facts = derive_facts(rc, oms, differential, tumour, severity, kb)
    recommendations = plan_workup(facts, tumour, kb)
    alerts = evaluate_alerts(facts, kb)
    used = _assumptions_used(kb, recommendations, alerts, tumour.result.prior_id)
    return Assessment(
        omscds_version=__version__,
        knowledge_base=KnowledgeBaseRef(
            version=kb.version, sha256=kb.sha256, hpo_release=kb.manifest.hpo_release
        ),
        case_id=case.case_id,
        oms=oms,
        differential=differential,
        differential_method=METHOD,
        tumour=tumour.result,
        recommendations=recommendations,
        alerts=alerts,
        severity=severity,
        assumptions=used,
        warnings=rc.warnings,
        disclaimer=kb.manifest.disclaimer,
    )


def assess_data(data: Any, kb: KnowledgeBase) -> Assessment:
    """Parse a decoded JSON/YAML case and assess it."""
    return assess(parse_case(data), kb)


def _assumptions_used(
    kb: KnowledgeBase, recommendations: Any, alerts: Any, prior_id: str | None
) -> tuple[AssumptionNote, ...]:
    """The assumptions behind this output: model-wide ones plus those of what fired."""
    fired = {f"recommendations.{r.id}" for r in recommendations} | {
        f"alerts.{a.id}" for a in alerts
    }
    notes: list[AssumptionNote] = []
    for where, fact in kb.assumptions():
        section = where.split(".", 1)[0]
        relevant = (
            section in ("parameters", "modalities", "regions", "severity", "differential")
            or where in fired
            or where == f"priors.{prior_id}"
        )
        if relevant:
            notes.append(AssumptionNote(where=where, reasoning=(fact.reasoning or "").strip()))
    notes.append(
        AssumptionNote(
            where="reasoning.tumour",
            reasoning="Tests are treated as conditionally independent given the tumour's "
            "presence and site.",
        )
    )
    return tuple(notes)
