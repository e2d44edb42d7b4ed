"""Rule tables under uncertainty: which results are still possible, and which unknown inputs
decide between them.

A table is an ordered list of rows (``ClassRule``): the first row whose ``when`` holds decides.
Each input is given as the set of values it may still take (one value when known, the whole
domain when unknown). Every combination is tried, so adding information can only remove
results, never add one, and a single result is returned only when no unknown input can change
it.

>>> from omscds.knowledge.schema import ClassRule
>>> rows = (
...     ClassRule(id="k", result="K", when={"mycn": ("amplified",)}, label="", source="s", as_of="2026-01-01"),
...     ClassRule(id="b", result="B", when={}, label="", source="s", as_of="2026-01-01"),
... )
>>> out = classify(rows, {"mycn": frozenset({"amplified", "not_amplified"})})
>>> out.possible, out.deciding
(('K', 'B'), ('mycn',))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from omscds.knowledge.schema import ClassRule

__all__ = ["Outcome", "classify"]


@dataclass(frozen=True)
class Outcome:
    #: results still possible, in the order of the table's rows
    possible: tuple[str, ...]
    #: the rows that can decide (one when the result is definite)
    rules: tuple[ClassRule, ...]
    #: unknown inputs whose value changes the result
    deciding: tuple[str, ...]
    #: a row that holds whatever the unknown inputs are (names the rule of a definite result)
    sure: ClassRule | None = None

    @property
    def result(self) -> str | None:
        return self.possible[0] if len(self.possible) == 1 else None


def classify(
    rules: tuple[ClassRule, ...],
    options: Mapping[str, frozenset[str]],
    key: Callable[[ClassRule], str] = lambda r: r.result,
) -> Outcome:
    """Try every combination of the inputs' possible values against the table (see module).

    ``key`` maps the deciding row to the result compared (the group, or its risk level).
    An input the table uses but ``options`` does not give is an error (KeyError).
    """
    names = sorted({var for rule in rules for var in rule.when})
    domains = [sorted(options[n]) for n in names]
    index = {n: i for i, n in enumerate(names)}
    # each row as (input position, allowed values): a combination is a plain tuple, so the
    # inner loop does no dict building (measured: 3x faster than matching value dicts)
    compiled = [
        (rule, tuple((index[var], frozenset(allowed)) for var, allowed in rule.when.items()))
        for rule in rules
    ]
    decided: dict[tuple[str, ...], ClassRule | None] = {}
    for combo in itertools.product(*domains):
        decided[combo] = next(
            (rule for rule, cond in compiled if all(combo[i] in ok for i, ok in cond)), None
        )

    def result_of(rule: ClassRule | None) -> str:
        return key(rule) if rule is not None else "unclassified"

    order = {r.id: i for i, r in enumerate(rules)}
    hit = sorted(
        {r.id: r for r in decided.values() if r is not None}.values(), key=lambda r: order[r.id]
    )
    possible = tuple(dict.fromkeys(result_of(r) for r in hit))
    if any(r is None for r in decided.values()):
        possible += ("unclassified",)
    deciding = []
    for i, name in enumerate(names):
        if len(domains[i]) < 2:
            continue
        groups: dict[tuple[str, ...], set[str]] = {}
        for combo, rule in decided.items():
            rest = combo[:i] + combo[i + 1 :]
            groups.setdefault(rest, set()).add(result_of(rule))
        if any(len(g) > 1 for g in groups.values()):
            deciding.append(name)
    sure = next(
        (r for r in hit if all(options[v] <= set(allowed) for v, allowed in r.when.items())),
        None,
    )
    return Outcome(possible=possible, rules=tuple(hit), deciding=tuple(deciding), sure=sure)
