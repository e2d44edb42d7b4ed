"""The work-up plan: knowledge-base rules fired by the case's facts, ordered by urgency and yield."""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.model import BODY_REGIONS, Recommendation
from omscds.reasoning.facts import Facts, rule_fires
from omscds.reasoning.tumour import TumourContext

__all__ = ["URGENCY_ORDER", "plan_workup"]

URGENCY_ORDER = {"urgent": 0, "soon": 1, "routine": 2}


def plan_workup(
    facts: Facts, tumour: TumourContext, kb: KnowledgeBase
) -> tuple[Recommendation, ...]:
    """Fire every rule whose conditions hold; fill regions from what is still uncovered.

    Within an urgency, imaging/laboratory studies follow the next-best-test ranking (yield, then
    burden), so the first recommendation is the one most likely to find the tumour now.
    """
    uncovered = [r for r, by in tumour.result.searched_regions.items() if by is None]
    yields = {t.modality: (i, t) for i, t in enumerate(tumour.result.next_tests)}
    out: list[Recommendation] = []
    for rule in kb.recommendations:
        if not rule_fires(facts, rule.when_all, rule.when_any, rule.when_none):
            continue
        regions = rule.regions
        if rule.regions_from == "uncovered":
            allowed = rule.regions or BODY_REGIONS
            regions = tuple(r for r in uncovered if r in allowed)
            if not regions:
                continue
        rationale = rule.rationale.strip()
        ranked = yields.get(rule.modality or "")
        if ranked is not None:
            nt = ranked[1]
            rationale += (
                f" Now: chance this study finds the tumour {nt.yield_probability:.0%} "
                f"({nt.why}); probability left if negative {nt.probability_if_negative:.0%}."
            )
        interval = rule.interval_months
        out.append(
            Recommendation.model_construct(
                id=rule.id,
                kind=rule.kind,
                modality=rule.modality,
                regions=regions,
                urgency=rule.urgency,
                interval_months=interval[0] if interval else None,
                interval_months_range=interval,
                title=rule.title,
                rationale=rationale,
                sources=rule.source,
                assumption=rule.is_assumption,
            )
        )

    def order(rec: Recommendation) -> tuple[int, int, str]:
        ranked = yields.get(rec.modality or "")
        return (URGENCY_ORDER[rec.urgency], ranked[0] if ranked else 99, rec.id)

    out.sort(key=order)
    return tuple(out)


def explain_order(recs: tuple[Recommendation, ...], tumour: TumourContext) -> str:
    """Why the first recommendation comes first, and why the first study is that study."""
    if not recs:
        return "No recommendation fired for the findings entered."
    first = recs[0]
    same = [r for r in recs if r.urgency == first.urgency]
    parts = [
        f"'{first.title or first.id}' comes first because it is {first.urgency}"
        + (f" (with {len(same) - 1} other {first.urgency} item(s))" if len(same) > 1 else "")
        + "."
    ]
    ranked = {t.modality: t for t in tumour.result.next_tests}
    study = next((r for r in recs if r.modality in ranked), None)
    if study is not None:
        best = ranked[study.modality or ""]
        alternatives = [t for t in tumour.result.next_tests if t.modality != best.modality][:2]
        alt = "; ".join(
            f"{t.modality} {t.yield_probability:.0%} (burden {t.burden_rank})" for t in alternatives
        )
        parts.append(
            f"Among studies, {best.modality} of {', '.join(study.regions) or 'the body'} leads: "
            f"it would find the tumour now with probability {best.yield_probability:.0%} at "
            f"burden {best.burden_rank}/5, and leave {best.probability_if_negative:.0%} if "
            f"negative" + (f" (next: {alt})." if alt else ".")
        )
    return " ".join(parts)
