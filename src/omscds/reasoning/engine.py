"""The assessment engine: one case in, one explained assessment out. Pure: no I/O, no clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from omscds import __version__
from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, Case, KnowledgeBaseRef, parse_case
from omscds.model.assessment import AssumptionNote, StagingResult
from omscds.reasoning.alerts import evaluate_alerts
from omscds.reasoning.coverage import search_view
from omscds.reasoning.criteria import evaluate_criteria
from omscds.reasoning.differential import METHOD, rank_differential
from omscds.reasoning.facts import Facts, add_composites, base_facts, derive_facts
from omscds.reasoning.findings import finding_key_problems, resolve
from omscds.reasoning.pathway import evaluate_pathway, reopens
from omscds.reasoning.pns_care import score_pns_care
from omscds.reasoning.severity import score_severity
from omscds.reasoning.staging import stage_tumour
from omscds.reasoning.tumour import assess_tumour
from omscds.reasoning.workup import explain_order

__all__ = ["assess", "assess_data", "parse_checked"]


def assess(case: Case, kb: KnowledgeBase) -> Assessment:
    """Assess a parsed case against the knowledge base.

    Raises ``InputError`` (naming the field) for findings, test findings or severity items the
    knowledge base does not know.
    """
    rc = resolve(case, kb)
    oms = evaluate_criteria(rc, kb)
    base = base_facts(rc, kb)
    differential = rank_differential(base, kb)
    population = "adult" if case.age_months >= kb.param("adult_age_months") else "child"
    view = search_view(rc.case, kb, population, reopens(base, oms, kb))
    tumour = assess_tumour(rc, oms, kb, view)
    severity = score_severity(case, kb)
    facts = derive_facts(rc, base, oms, differential, tumour, severity, kb, view)
    staging = stage_tumour(rc.case, facts, kb)
    if staging is not None:  # the work-up still missing: facts of the pathway's found phase
        true = set(facts.true | staging.facts)
        add_composites(true, kb)
        facts = Facts(frozenset(true), facts.open)
    pns_care = score_pns_care(rc.case, oms, facts, kb)
    leader = differential[0].condition if differential else None
    pathway, recommendations = evaluate_pathway(facts, view, tumour, kb, leader)
    alerts = evaluate_alerts(facts, kb)
    used = _assumptions_used(kb, recommendations, alerts, tumour.result.prior_id)
    if staging is not None:
        used += _staging_assumptions(staging.result)
    return Assessment.build(
        omscds_version=__version__,
        knowledge_base=kb.memo(
            "engine.kb_ref",
            lambda: KnowledgeBaseRef(
                version=kb.version, sha256=kb.sha256, hpo_release=kb.manifest.hpo_release
            ),
        ),
        case_id=case.case_id,
        oms=oms,
        differential=differential,
        differential_method=METHOD,
        tumour=tumour.result,
        recommendations=recommendations,
        plan_rationale=explain_order(recommendations, tumour),
        alerts=alerts,
        severity=severity,
        assumptions=used,
        warnings=rc.warnings + view.warnings,
        disclaimer=kb.manifest.disclaimer,
        pathway=pathway,
        staging=staging.result if staging is not None else None,
        pns_care=pns_care,
    )


def parse_checked(data: Any, kb: KnowledgeBase, *, today: dt.date | None = None) -> Case:
    """``parse_case``, with the knowledge base's unknown finding names reported in the same
    pass as the contract's errors (so that fixing one list never reveals another)."""
    try:
        return parse_case(data, today=today)
    except InputError as exc:
        more = finding_key_problems(data.get("findings") if isinstance(data, dict) else None, kb)
        if not more:
            raise
        errors = [*exc.errors, *more]
        raise InputError(errors[0][1], path=errors[0][0], errors=errors) from None


def assess_data(data: Any, kb: KnowledgeBase, *, today: dt.date | None = None) -> Assessment:
    """Parse a decoded JSON/YAML case and assess it (``today``: refuse dates after it; the
    caller at the edge passes the clock, the core never reads it)."""
    return assess(parse_checked(data, kb, today=today), kb)


def _static_notes(
    kb: KnowledgeBase,
) -> tuple[tuple[AssumptionNote, ...], dict[str, AssumptionNote]]:
    """Model-wide assumption notes (always listed) and the rest by where they live."""
    always: list[AssumptionNote] = []
    by_where: dict[str, AssumptionNote] = {}
    for where, f in kb.assumptions():
        note = AssumptionNote.build(where=where, reasoning=(f.reasoning or "").strip())
        if where.split(".", 1)[0] in _MODEL_WIDE:
            always.append(note)
        else:
            by_where[where] = note
    always.append(_INDEPENDENCE)
    return tuple(always), by_where


_MODEL_WIDE = ("parameters", "modalities", "regions", "severity", "differential")
_INDEPENDENCE = AssumptionNote.build(
    where="reasoning.tumour",
    reasoning="Tests are treated as conditionally independent given the tumour's presence and site.",
)


def _assumptions_used(
    kb: KnowledgeBase, recommendations: Any, alerts: Any, prior_id: str | None
) -> tuple[AssumptionNote, ...]:
    """The assumptions behind this output: model-wide ones plus those of what fired."""
    always, by_where = kb.memo("engine.assumption_notes", lambda: _static_notes(kb))
    fired = [f"priors.{prior_id}"]
    fired.extend(f"recommendations.{r.id}" for r in recommendations)
    fired.extend(f"alerts.{a.id}" for a in alerts)
    return always + tuple(by_where[w] for w in fired if w in by_where)


def _staging_assumptions(result: StagingResult) -> tuple[AssumptionNote, ...]:
    """The UNCONFIRMED rows a staging answer rests on (K/N placement, INRG EFS cut-offs)."""
    out = []
    for c in (result.stage, result.inrg_group, result.inrg_risk, result.cog_risk):
        if c.assumption_note:
            out.append(
                AssumptionNote.build(where=f"staging.{c.system}", reasoning=c.assumption_note)
            )
    return tuple(out)
