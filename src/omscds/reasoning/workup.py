"""The work-up plan: a fired knowledge-base rule as a recommendation, ordered by urgency and yield.

Which rules are advised is the pathway's decision (``reasoning/pathway.py``).
"""

from __future__ import annotations

from omscds.knowledge.schema import Recommendation as RecommendationRule
from omscds.model import BODY_REGIONS, NextTest, Recommendation
from omscds.reasoning.coverage import SearchView
from omscds.reasoning.tumour import TumourContext

__all__ = [
    "URGENCY_ORDER",
    "build_recommendation",
    "explain_order",
    "order_recommendations",
    "yields_of",
]

URGENCY_ORDER = {"urgent": 0, "soon": 1, "routine": 2}


def build_recommendation(
    rule: RecommendationRule,
    view: SearchView,
    tumour: TumourContext,
    yields: dict[str, tuple[int, NextTest]] | None = None,
) -> Recommendation | None:
    """The recommendation a rule gives now, regions filled from what the search still lacks.

    ``regions_from: uncovered`` takes the regions of the population's search not yet covered by
    CT/MRI (since a relapse or resection, when the search re-opened); ``None`` when none is left.
    """
    regions = rule.regions
    if rule.regions_from == "uncovered":
        allowed = rule.regions or BODY_REGIONS
        regions = tuple(r for r in view.uncovered if r in allowed)
        if not regions:
            return None
    rationale = rule.rationale.strip()
    ranked = (yields if yields is not None else yields_of(tumour)).get(rule.modality or "")
    if ranked is not None:
        nt = ranked[1]
        # one figure for the whole search: an order split into one request per region carries
        # it on each, where "this study" would read as that region's own chance
        finds = "these studies together find" if len(regions) > 1 else "this study finds"
        rationale += (
            f" Now: chance {finds} the tumour {nt.yield_probability:.0%} "
            f"({nt.why}); probability left if negative {nt.probability_if_negative:.0%}."
        )
    interval = rule.interval_months
    return Recommendation.build(
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


def yields_of(tumour: TumourContext) -> dict[str, tuple[int, NextTest]]:
    return {t.modality: (i, t) for i, t in enumerate(tumour.result.next_tests)}


def order_recommendations(
    recs: list[Recommendation], tumour: TumourContext
) -> tuple[Recommendation, ...]:
    """Urgency first; within an urgency, studies follow the next-best-test ranking (yield, then
    burden), so the first study is the one most likely to find the tumour now; then the order of
    the pathway's steps (a stable sort keeps it)."""
    yields = yields_of(tumour)

    def order(rec: Recommendation) -> tuple[int, int]:
        ranked = yields.get(rec.modality or "")
        return (URGENCY_ORDER[rec.urgency], ranked[0] if ranked else 99)

    return tuple(sorted(recs, key=order))


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
