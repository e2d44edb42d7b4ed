"""Ranked differential of the child (or adult) with ataxia, myoclonus or abnormal eye movements.

Each condition has a base log-odds (how often it causes acute ataxia in children) and rules that
add a log-likelihood-ratio weight when a fact holds. The shares are the softmax of the scores.
For each entry, the question that best separates it from the next candidate is the still-open
fact with the largest difference in weight between the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class _Compiled:
    """A condition's rules as plain tuples: (fact, weight, explain, column, sources); column is
    0 support, 1 against, 2 atypical, -1 neither (weight 0)."""

    rules: tuple[tuple[str, float, str, int, tuple[str, ...]], ...]


def _compiled(kb: KnowledgeBase) -> dict[str, _Compiled]:
    def build() -> dict[str, _Compiled]:
        out = {}
        for cond in kb.differential:
            rows = []
            for r in cond.rules:
                column = 2 if r.atypical else 0 if r.weight > 0 else 1 if r.weight < 0 else -1
                rows.append((r.when, r.weight, r.explain, column, r.source))
            out[cond.id] = _Compiled(tuple(rows))
        return out

    return kb.memo("differential.compiled", build)


#: entries below this rank get the condition's standing advice instead of a computed question
SEPARATE_TOP = 5


def _gaps(a: DifferentialCondition, b: DifferentialCondition) -> tuple[str, ...]:
    """The facts on which two conditions' weights differ, largest gap first (ties: the order
    the facts first appear in a's rules, then b's, as a stable sort keeps it)."""
    wa = {r.when: r.weight for r in a.rules}
    wb = {r.when: r.weight for r in b.rules}
    names = list(dict.fromkeys((*wa, *wb)))
    gaps = [(abs(wa.get(n, 0.0) - wb.get(n, 0.0)), n) for n in names]
    ranked = sorted((g for g in gaps if g[0] > 0), key=lambda g: -g[0])
    return tuple(n for _, n in ranked)


def _separator(
    a: DifferentialCondition, b: DifferentialCondition, facts: Facts, kb: KnowledgeBase
) -> str:
    gaps = kb.memo(f"differential.gaps.{a.id}.{b.id}", lambda: _gaps(a, b))
    best = next((name for name in gaps if name in facts.open), None)
    if best is None:
        return a.separate_by
    label = fact_label(best, kb)
    return f"Check for {label} (separates {a.label} from {b.label}). {a.separate_by}".strip()


def rank_differential(facts: Facts, kb: KnowledgeBase) -> tuple[DifferentialEntry, ...]:
    """Rank the knowledge base's conditions on the case's facts (see ``base_facts``)."""
    if not kb.differential:
        return ()
    compiled = _compiled(kb)
    true = facts.true
    scored = []
    for cond in kb.differential:
        fired = [row for row in compiled[cond.id].rules if row[0] in true]
        scored.append((cond.base + sum(row[1] for row in fired), cond, fired))
    scored.sort(key=lambda s: (-s[0], s[1].id))
    top = scored[0][0]
    exps = [math.exp(s[0] - top) for s in scored]
    z = sum(exps)
    out: list[DifferentialEntry] = []
    for rank, (_, cond, fired) in enumerate(scored, start=1):
        sources = dict.fromkeys(cond.source)  # the condition's, then each fired rule's, once
        columns: tuple[list[str], list[str], list[str]] = ([], [], [])
        for _when, _w, explain, column, rule_sources in fired:
            if column >= 0:
                columns[column].append(explain)
            sources.update(dict.fromkeys(rule_sources))
        separate = cond.separate_by
        if rank < len(scored) and rank <= SEPARATE_TOP:
            separate = _separator(cond, scored[rank][1], facts, kb)
        out.append(
            DifferentialEntry.build(
                condition=cond.id,
                rank=rank,
                label=cond.label,
                score=round(exps[rank - 1] / z, 4),
                support=tuple(columns[0]),
                against=tuple(columns[1]),
                atypical=tuple(columns[2]),
                separate_by=separate,
                sources=tuple(sources),
            )
        )
    return tuple(out)
