"""What the explanation charts draw: likelihood ratios per finding and per test, and how much the
tumour probability depends on the uncertain numbers behind it.

The assessment names the differential's evidence in words (``support``, ``against``,
``atypical``) and gives each test's likelihood ratio. The differential's weights are the
knowledge base's log-likelihood ratios (``differential.yaml``), so a finding's likelihood ratio
is ``exp(weight)`` of the rule whose ``explain`` the entry lists: read here, never invented. The
sensitivity view re-runs the engine's own update primitives (``reasoning.probability``) over the
assessment's tests with one uncertain number at a time at the ends of its knowledge-base range,
and is given only when re-running at the point values reproduces the assessment's probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from omscds.knowledge import KnowledgeBase
from omscds.model import DifferentialEntry, TumourEvidence, TumourResult
from omscds.reasoning.facts import fact_label
from omscds.reasoning.probability import Masses, update_found, update_regions
from omscds.reasoning.tumour import performance, region_weights

__all__ = [
    "LEADING",
    "LrRow",
    "SensitivityRow",
    "SensitivityView",
    "finding_lr_rows",
    "tumour_lr_rows",
    "tumour_sensitivity",
]

#: how many of the differential's leading conditions get a likelihood-ratio chart (display only)
LEADING = 3

Direction = Literal["for", "against", "atypical", "none"]


@dataclass(frozen=True)
class LrRow:
    """One bar: a finding's (or a test's) likelihood ratio for one hypothesis."""

    label: str
    lr: float
    direction: Direction
    interval: tuple[float, float] | None = None
    #: the evidence in the assessment's words (the rule's explanation, or the test's note)
    detail: str = ""


def finding_lr_rows(entry: DifferentialEntry, kb: KnowledgeBase) -> tuple[LrRow, ...]:
    """The likelihood ratio of each finding the entry lists, strongest first.

    >>> from omscds.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> e = DifferentialEntry(condition="oms", rank=1, support=("myoclonus",))
    >>> [(r.label, round(r.lr, 2), r.direction) for r in finding_lr_rows(e, kb)]
    [('Myoclonus', 4.48, 'for')]
    """
    cond = next((c for c in kb.differential if c.id == entry.condition), None)
    if cond is None:
        return ()
    listed: dict[str, Direction] = dict.fromkeys(entry.support, "for")
    listed |= dict.fromkeys(entry.against, "against")
    listed |= dict.fromkeys(entry.atypical, "atypical")
    rows = [
        LrRow(
            label=_capital(fact_label(rule.when, kb)),
            lr=math.exp(rule.weight),
            direction=listed[rule.explain],
            detail=rule.explain,
        )
        for rule in cond.rules
        if rule.explain in listed
    ]
    rows.sort(key=lambda r: -abs(math.log(r.lr)))
    return tuple(rows)


def tumour_lr_rows(
    tumour: TumourResult,
    modality_label: Callable[[str], str],
    word: Callable[[str], str],
) -> tuple[LrRow, ...]:
    """One row per test of the tumour update, in the order done, with its interval."""
    rows = []
    for n, ev in enumerate(tumour.evidence, start=1):
        direction: Direction = "for" if ev.likelihood_ratio > 1 else "against"
        if ev.likelihood_ratio == 1:
            direction = "none"
        regions = f" ({', '.join(map(word, ev.regions))})" if ev.regions else ""
        rows.append(
            LrRow(
                label=f"{n}. {modality_label(ev.modality)} {word(ev.result)}",
                lr=ev.likelihood_ratio,
                direction=direction,
                interval=ev.likelihood_ratio_interval,
                detail=f"{modality_label(ev.modality)}{regions}: {ev.note}",
            )
        )
    return tuple(rows)


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


@dataclass(frozen=True)
class SensitivityRow:
    """The final probability with one uncertain number at either end of its range.

    ``modality`` is None for the prior; the chart puts the words to it.
    """

    low: float
    high: float
    #: the range of the number itself: the prior's, or the test's sensitivity interval
    range: tuple[float, float]
    modality: str | None = None
    result: str = ""
    #: the test's specificity interval (None when the knowledge base gives no range)
    specificity: tuple[float, float] | None = None


@dataclass(frozen=True)
class SensitivityView:
    probability: float
    rows: tuple[SensitivityRow, ...]
    #: every number at the end of its range at once (the assessment's interval)
    overall: tuple[float, float]


_Setting = tuple[float, float]  # (sensitivity, specificity)


def _run(
    tumour: TumourResult,
    kb: KnowledgeBase,
    steps: Sequence[tuple[TumourEvidence, bool]],
    prior: float,
    settings: Mapping[int, _Setting],
) -> float:
    weights, _ = region_weights(kb, tumour.population)
    m = Masses.start(prior, weights)
    for i, (ev, found) in enumerate(steps):
        sens, spec = settings[i]
        covered = frozenset(ev.regions)
        if found:
            m, _lr = update_found(m, covered, sens, spec)
        else:
            m, _lr = update_regions(m, covered, ev.result, sens, spec)
    return m.probability


def tumour_sensitivity(tumour: TumourResult, kb: KnowledgeBase) -> SensitivityView | None:
    """One-way sensitivity of the tumour probability: the prior over its knowledge-base range,
    then each test's sensitivity and specificity over their credible intervals, the others at
    their point values. None when no probability is in question (confirmed or not applicable),
    when no prior range is recorded, when no test moved the probability, or when the re-run does
    not reproduce the assessment.
    """
    if tumour.status in ("confirmed", "not_applicable") or tumour.prior_interval is None:
        return None
    steps: list[tuple[TumourEvidence, bool]] = []
    perf = []
    for ev in tumour.evidence:
        if ev.sensitivity is None:
            continue  # the engine left the probability where it was (equivocal, not used)
        mod = kb.modalities.get(ev.modality)
        found = ev.result == "positive" and mod is not None and mod.completes_search
        steps.append((ev, found))
        perf.append(performance(kb, ev.modality))
    point = {i: (p.sens[0], p.spec[0]) for i, p in enumerate(perf)}
    if abs(_run(tumour, kb, steps, tumour.prior, point) - tumour.probability) > 5e-4:
        return None  # the view's re-run disagrees with the engine: draw nothing rather than guess
    lo_p, hi_p = tumour.prior_interval
    ends = [_run(tumour, kb, steps, p, point) for p in (lo_p, hi_p)]
    rows = [SensitivityRow(low=min(ends), high=max(ends), range=(lo_p, hi_p))]
    for i, ((ev, _found), p) in enumerate(zip(steps, perf, strict=True)):
        ends = []
        for k in (1, 2):  # both low ends, then both high ends (the extremes, as the engine pairs)
            setting = dict(point)
            setting[i] = (p.sens[k], p.spec[k])
            ends.append(_run(tumour, kb, steps, tumour.prior, setting))
        rows.append(
            SensitivityRow(
                low=min(ends),
                high=max(ends),
                range=(p.sens[1], p.sens[2]),
                modality=ev.modality,
                result=ev.result,
                specificity=(p.spec[1], p.spec[2]) if p.spec[1] < p.spec[2] else None,
            )
        )
    if len(rows) < 2:
        return None  # no test moved the probability: the prior's range is the whole story
    rows.sort(key=lambda r: -(r.high - r.low))
    return SensitivityView(tumour.probability, tuple(rows), tumour.interval)
