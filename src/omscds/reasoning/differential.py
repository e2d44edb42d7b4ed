"""Ranked differential of the child (or adult) with ataxia, myoclonus or abnormal eye movements.

Each condition has a base log-odds (how often it causes acute ataxia in children) and rules that
add a log-likelihood-ratio weight when a fact holds. The shares are the softmax of the scores.
For each entry, the question that best separates it from the next candidate is the still-open
fact with the largest difference in weight between the two.
"""

from __future__ import annotations

import math

from omscds.knowledge import KnowledgeBase
from omscds.knowledge.schema import DifferentialCondition, DifferentialRule
from omscds.model import DifferentialEntry
from omscds.reasoning.facts import Facts, fact_label

__all__ = ["METHOD", "rank_differential", "score_condition"]

METHOD = (
    "score = base log-odds of the condition among children with acute ataxia + the sum of the "
    "log-likelihood-ratio weights of every rule whose fact holds; shares are the softmax of the "
    "scores. Weights are in the knowledge base (differential.yaml), most marked as assumptions "
    "whose direction follows the cited sources. This ranks hypotheses; it does not diagnose."
)


def score_condition(
    cond: DifferentialCondition, facts: Facts
) -> tuple[float, list[DifferentialRule]]:
    """Return (score, the rules whose fact holds).

    >>> from omscds.knowledge.schema import DifferentialCondition, DifferentialRule, DifferentialRule
    >>> import datetime as dt
    >>> d = dt.date(2026, 1, 1)
    >>> c = DifferentialCondition(id="x", label="X", base=-1.0, source=("s",), as_of=d,
    ...     rules=(DifferentialRule(when="a", weight=2.0, explain="a", source=("s",), as_of=d),))
    >>> score_condition(c, Facts(frozenset({"a"}), frozenset()))[0]
    1.0
    """
    true = facts.true
    fired = [rule for rule in cond.rules if rule.when in true]
    return cond.base + sum(rule.weight for rule in fired), fired


def _weights(kb: KnowledgeBase, cond: DifferentialCondition) -> dict[str, float]:
    return kb.memo(
        f"differential.weights.{cond.id}", lambda: {r.when: r.weight for r in cond.rules}
    )


#: entries below this rank get the condition's standing advice instead of a computed question
SEPARATE_TOP = 5


def _separator(
    a: DifferentialCondition, b: DifferentialCondition, facts: Facts, kb: KnowledgeBase
) -> str:
    wa = _weights(kb, a)
    wb = _weights(kb, b)
    best: tuple[float, str] | None = None
    for name in set(wa) | set(wb):
        if name not in facts.open:
            continue
        gap = abs(wa.get(name, 0.0) - wb.get(name, 0.0))
        if gap > 0 and (best is None or gap > best[0]):
            best = (gap, name)
    if best is None:
        return a.separate_by
    label = fact_label(best[1], kb)
    return f"Check for {label} (separates {a.label} from {b.label}). {a.separate_by}".strip()


def rank_differential(facts: Facts, kb: KnowledgeBase) -> tuple[DifferentialEntry, ...]:
    """Rank the knowledge base's conditions on the case's facts (see ``base_facts``)."""
    if not kb.differential:
        return ()
    scored = []
    for cond in kb.differential:
        score, fired = score_condition(cond, facts)
        scored.append((score, cond, fired))
    scored.sort(key=lambda s: (-s[0], s[1].id))
    top = max(s[0] for s in scored)
    z = sum(math.exp(s[0] - top) for s in scored)
    out: list[DifferentialEntry] = []
    for rank, (score, cond, fired) in enumerate(scored, start=1):
        nxt = scored[rank][1] if rank < len(scored) else None
        sources = list(cond.source)
        for rule in fired:
            sources.extend(s for s in rule.source if s not in sources)
        separate = cond.separate_by
        if nxt is not None and rank <= SEPARATE_TOP:
            separate = _separator(cond, nxt, facts, kb)
        out.append(
            DifferentialEntry.build(
                condition=cond.id,
                rank=rank,
                label=cond.label,
                score=round(math.exp(score - top) / z, 4),
                support=tuple(r.explain for r in fired if r.weight > 0 and not r.atypical),
                against=tuple(r.explain for r in fired if r.weight < 0 and not r.atypical),
                atypical=tuple(r.explain for r in fired if r.atypical),
                separate_by=separate,
                sources=tuple(sources),
            )
        )
    return tuple(out)
