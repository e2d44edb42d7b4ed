"""Where the patient stands on the clinical pathway, and what to do next (``pathway.yaml``).

The population branch (child or adult) is chosen first; then the first phase whose conditions
hold is the current one. The phase owns its steps: a step without a condition is an order now
when its rule fires; a conditional step (``if``) is shown with its condition and is never an
order. Rules of other phases are not advised, so a posterior-fossa picture gets brain MRI first
and the body search only as "if brain MRI does not explain the ataxia".
"""

from __future__ import annotations

from typing import Literal

from omscds.knowledge import KnowledgeBase
from omscds.knowledge.schema import PathwayPhase
from omscds.knowledge.schema import PathwayStep as StepDef
from omscds.model import OmsResult, PathwayResult, PathwayStep, Recommendation
from omscds.reasoning.coverage import SearchView
from omscds.reasoning.facts import Facts, add_composites, fact_label, rule_fires
from omscds.reasoning.tumour import TumourContext
from omscds.reasoning.workup import build_recommendation, order_recommendations, yields_of

__all__ = ["current_phase", "evaluate_pathway", "reopens"]


def reopens(base: Facts, oms: OmsResult, kb: KnowledgeBase) -> bool:
    """Does the pathway's ``reopen`` rule hold (before the search view is built)?

    Evaluated on the case's facts, the OMS status and the composite facts over them.
    """
    if kb.pathway is None or kb.pathway.reopen is None:
        return False
    true = set(base.true)
    if oms.status in ("criteria_met", "possible"):
        true.update(
            {"oms_met_or_possible", "oms_met" if oms.status == "criteria_met" else "oms_possible"}
        )
    add_composites(true, kb)
    r = kb.pathway.reopen
    return rule_fires(Facts(frozenset(true), base.open), r.when_all, r.when_any, r.when_none)


def current_phase(facts: Facts, kb: KnowledgeBase) -> PathwayPhase:
    """The first phase whose conditions hold (the last phase is the unconditional default)."""
    assert kb.pathway is not None
    for phase in kb.pathway.phases:
        if rule_fires(facts, phase.when_all, phase.when_any, phase.when_none):
            return phase
    return kb.pathway.phases[-1]


def _step_shown(step: StepDef, rule_fired: bool, facts: Facts) -> bool:
    if step.condition is None:
        return rule_fired
    if step.when_all or step.when_any or step.when_none:
        return rule_fires(facts, step.when_all, step.when_any, step.when_none)
    return rule_fired


def evaluate_pathway(
    facts: Facts,
    view: SearchView,
    tumour: TumourContext,
    kb: KnowledgeBase,
    leader: str | None = None,
) -> tuple[PathwayResult, tuple[Recommendation, ...]]:
    """The pathway position and the recommendations it orders now (the conditional steps are
    in the pathway only). ``leader``: the differential's leading condition; when a mimic leads,
    its explaining test goes first."""
    assert kb.pathway is not None
    pathway = kb.pathway
    population: Literal["child", "adult"] = "adult" if view.population == "adult" else "child"
    branch = kb.pathway.branch(population)
    phase = current_phase(facts, kb)
    rules = kb.memo("pathway.rules", lambda: {r.id: r for r in kb.recommendations})
    orders: list[Recommendation] = []
    conditional: list[PathwayStep] = []
    seen: set[str] = set()
    yields = yields_of(tumour)
    owned = kb.memo(
        f"pathway.owned.{id(phase)}.{population}",
        lambda: (
            *phase.steps.get(population, ()),
            *(StepDef(rule=r) for r in pathway.always.get(population, ())),
        ),
    )
    for step in owned:
        if step.rule in seen and step.condition is None:
            continue
        rule = rules[step.rule]
        fired = rule_fires(facts, rule.when_all, rule.when_any, rule.when_none)
        if not _step_shown(step, fired, facts):
            continue
        rec = build_recommendation(rule, view, tumour, yields)
        if rec is None:
            continue
        if step.condition is None:
            orders.append(rec)
            seen.add(step.rule)
        else:
            conditional.append(_step(rec, "conditional", step.condition))
    ordered = order_recommendations(orders, tumour)
    if "mimic_leads" in facts and leader is not None:
        lead = next((c.explained_by for c in kb.differential if c.id == leader), None)
        ordered = tuple(sorted(ordered, key=lambda r: r.id != lead))
    steps = tuple(_step(r, "now", None) for r in ordered) + tuple(conditional)
    why = phase.why
    held = [n for n in (*phase.when_all, *phase.when_any) if n in facts]
    if held:
        why += " Here: " + "; ".join(fact_label(n, kb) for n in held) + "."
    if view.reopened:
        why += (
            f" The search re-opened (tests after {view.since} count)."
            if view.since
            else " The search re-opened; until the event is dated, no earlier negative test counts."
        )
    result = PathwayResult.build(
        branch=population,
        branch_label=branch.label,
        team=branch.team,
        phase=phase.id,
        phase_label=phase.label,
        why=why,
        moves_on=phase.moves_on,
        reopened=view.reopened,
        since=view.since,
        search_regions=view.regions,
        uncovered=view.uncovered,
        steps=steps,
        sources=tuple(dict.fromkeys((*phase.source, *branch.source))),
        level=phase.level,
    )
    return result, ordered


def _step(
    rec: Recommendation, status: Literal["now", "conditional"], condition: str | None
) -> PathwayStep:
    return PathwayStep.build(
        rule=rec.id,
        status=status,
        condition=condition,
        title=rec.title,
        kind=rec.kind,
        modality=rec.modality,
        regions=rec.regions,
        urgency=rec.urgency,
        sources=rec.sources,
    )
