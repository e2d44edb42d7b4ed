"""How likely is an occult tumour, given what was done and found?

A prior for the population (child or adult; OMS or an atypical presentation) is updated test by
test with likelihood ratios, region by region: a negative study lowers only the regions it covered
(neck, chest, abdomen, pelvis), weighted by where OMS-associated tumours are found. Sensitivities
come from stored counts as Beta credible intervals; the interval of the prior and of every
sensitivity and specificity is carried to the posterior (the posterior is monotone in each).
Conditional independence of tests given the tumour's presence and site is an assumption.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase
from omscds.knowledge.schema import CountEvidence, Prior
from omscds.model import BODY_REGIONS, NextTest, OmsResult, TestResult, TumourEvidence, TumourResult
from omscds.reasoning.coverage import (
    SearchView,
    body_regions,
    had_resection,
    has_relapsed,
    is_tumour_positive,
    searched_regions,
)
from omscds.reasoning.criteria import NEUROBLASTIC
from omscds.reasoning.findings import ResolvedCase
from omscds.reasoning.probability import (
    Masses,
    beta_interval,
    probability_if_negative,
    update_found,
    update_regions,
)

__all__ = [
    "Performance",
    "TumourContext",
    "assess_tumour",
    "choose_prior",
    "performance",
    "region_weights",
    "tumour_question",
]

_INDEPENDENCE = (
    "Tests are treated as conditionally independent given the tumour's presence and site "
    "(an assumption: a small, metabolically quiet tumour can be missed by several tests at once)."
)


@dataclass(frozen=True)
class Performance:
    """Sensitivity and specificity of a modality as (mean, low, high), with the counts behind them."""

    modality: str
    informative: bool
    sens: tuple[float, float, float] = (0.5, 0.5, 0.5)
    spec: tuple[float, float, float] = (1.0, 1.0, 1.0)
    x: float = 0.0
    n: float = 0.0
    sources: tuple[str, ...] = ()


def _rows(kb: KnowledgeBase, modality: str) -> list[CountEvidence]:
    rows: list[CountEvidence] = []
    seen: set[str] = set()
    current: str | None = modality
    while current and current not in seen:
        seen.add(current)
        mod = kb.modalities[current]
        rows.extend(mod.sensitivity)
        current = mod.sensitivity_from
    return rows


def _pool(rows: Iterable[CountEvidence], case_weight: float) -> tuple[float, float, list[str]]:
    x = n = 0.0
    sources: list[str] = []
    for r in rows:
        w = r.weight * (case_weight if r.grade == "case" else 1.0)
        x += w * r.x
        n += w * r.n
        sources.extend(s for s in r.source if s not in sources)
    return x, n, sources


def performance(kb: KnowledgeBase, modality: str) -> Performance:
    return kb.memo(f"tumour.performance.{modality}", lambda: _performance(kb, modality))


def _performance(kb: KnowledgeBase, modality: str) -> Performance:
    """Pool a modality's counts (case reports down-weighted) into Beta intervals.

    >>> from omscds.knowledge import load_knowledge
    >>> p = performance(load_knowledge(), "mibg")
    >>> p.sens[1] < p.sens[0] < p.sens[2]
    True
    """
    mod = kb.modalities.get(modality)
    if mod is None:
        return Performance(modality, informative=False)
    rows = _rows(kb, modality)
    if not rows:
        return Performance(modality, informative=False)
    level = kb.param("credible_level")
    a = kb.param("beta_prior_a")
    x, n, sources = _pool(rows, kb.param("case_pool_weight"))
    sens = beta_interval(x, n, level, a)
    sx, sn, ssrc = _pool(mod.specificity, kb.param("case_pool_weight"))
    spec = beta_interval(sx, sn, level, a) if sn > 0 else (1.0, 1.0, 1.0)
    if mod.sensitivity_from_reason is not None:
        sources.extend(s for s in mod.sensitivity_from_reason.source if s not in sources)
    sources.extend(s for s in ssrc if s not in sources)
    return Performance(modality, True, sens, spec, x, n, tuple(sources))


def region_weights(kb: KnowledgeBase, population: str) -> tuple[dict[str, float], tuple[str, ...]]:
    """Summed per-series site counts plus the uniform pseudo-count, and their sources."""
    weights, sources = kb.memo(
        f"tumour.region_weights.{population}", lambda: _region_weights(kb, population)
    )
    return dict(weights), sources


def _region_weights(kb: KnowledgeBase, population: str) -> tuple[dict[str, float], tuple[str, ...]]:
    a = kb.param("beta_prior_a")
    weights = dict.fromkeys(BODY_REGIONS, a)
    sources: list[str] = []
    for dist in kb.regions:
        if dist.population != population:
            continue
        for region, count in dist.counts.items():
            # a site beyond the body regions (the breast) gets the same pseudo-count
            weights[region] = weights.get(region, a) + count
        sources.extend(s for s in dist.source if s not in sources)
    return weights, tuple(sources)


def choose_prior(age_months: float, oms_status: str, kb: KnowledgeBase) -> Prior:
    """The prior for the population: adult or child, OMS or atypical, infants apart."""
    population = "adult" if age_months >= kb.param("adult_age_months") else "child"
    applies = "oms" if oms_status in ("criteria_met", "possible") else "atypical"
    for prior in kb.priors:
        hi = prior.age_months_max if prior.age_months_max is not None else float("inf")
        if (
            prior.population == population
            and prior.applies_to == applies
            and prior.age_months_min <= age_months < hi
        ):
            return prior
    # the knowledge base always carries a prior per population and presentation
    return next(p for p in kb.priors if p.population == population and p.applies_to == applies)


def tumour_question(
    rc: ResolvedCase,
    oms: OmsResult,
    kb: KnowledgeBase,
    tests: Sequence[TestResult] | None = None,
) -> list[str]:
    """Why an occult tumour is in question (empty: no tumour question arises).

    ``tests``: those that count for the search now (a re-opened search: only those after the
    relapse or resection); a positive study before a resection is not a reason to search again,
    the resection and the relapse are."""
    case = rc.case
    counted = case.tests if tests is None else tests
    why: list[str] = []
    adult = case.age_months >= kb.param("adult_age_months")
    if oms.status in ("criteria_met", "possible"):
        why.append(f"OMS {oms.status.replace('_', ' ')}")
    if rc.present("opsoclonus") and not adult:
        why.append("opsoclonus in a child")
    if any(t.modality in ("mibg", "urine_catecholamines") for t in counted):
        why.append("a neuroblastoma test was already done")
    if not adult and "cerebellar_hypoperfusion" in rc.test_findings:
        why.append("cerebellar hypoperfusion on perfusion SPECT")
    if not adult and "cerebellar_atrophy" in rc.test_findings:
        why.append("cerebellar atrophy in a child")
    weeks = case.history.symptom_duration_weeks
    if rc.present("ataxia") and weeks is not None and weeks > kb.param("aca_typical_course_weeks"):
        why.append(f"ataxia for {weeks:g} weeks, beyond the usual post-infectious course")
    h = case.history
    if has_relapsed(h):
        why.append("OMS relapse")
    if had_resection(h):
        why.append("a neuroblastic tumour was resected before")
    if any(is_tumour_positive(t, kb) for t in counted):
        why.append("a study was positive")
    return why


@dataclass(frozen=True)
class TumourContext:
    """What later steps (work-up, alerts) need from the tumour assessment."""

    result: TumourResult
    question: tuple[str, ...]
    masses: Masses
    weights: dict[str, float]


def _r(p: float) -> float:
    return round(p, 4)


def _regions_of(test: TestResult, kb: KnowledgeBase) -> frozenset[str]:
    mod = kb.modalities.get(test.modality)
    if mod is not None and mod.finds == "anywhere":
        return frozenset(BODY_REGIONS)
    if mod is not None and mod.finds == "not_tumour":
        return frozenset()
    return frozenset(body_regions(test.regions))


def _step(
    m: Masses,
    test: TestResult,
    covered: frozenset[str],
    perf: Performance,
    bound: str,
    found: bool = False,
) -> tuple[Masses, float]:
    """One update at the point value or at the bound that pushes the posterior low or high.

    After a negative result the posterior falls as sensitivity and specificity rise; after a
    positive one it rises with both. So each bound takes the matching ends of both intervals.
    ``found``: a mass on CT/MRI, which shows where the tumour is (``update_found``).
    """
    if bound == "point":
        s, c = perf.sens[0], perf.spec[0]
    elif (bound == "high") == (test.result == "positive"):
        s, c = perf.sens[2], perf.spec[2]
    else:
        s, c = perf.sens[1], perf.spec[1]
    if found:
        return update_found(m, covered, s, c)
    return update_regions(m, covered, test.result, s, c)


def assess_tumour(
    rc: ResolvedCase, oms: OmsResult, kb: KnowledgeBase, view: SearchView | None = None
) -> TumourContext:
    """The occult-tumour probability, status and next tests.

    ``view``: the search as the pathway sees it. When a relapse or OMS after a resection has
    re-opened it, the question is a residual or recurrent tumour: only the tests after the
    event count (the resected tumour's histology and the earlier negatives do not), starting
    again from the population's prior.
    """
    case = rc.case
    adult = case.age_months >= kb.param("adult_age_months")
    population = "adult" if adult else "child"
    prior = choose_prior(case.age_months, oms.status, kb)
    weights, region_sources = region_weights(kb, population)
    question = tumour_question(
        rc, oms, kb, view.tests if view is not None and view.reopened else None
    )
    eq_lr = kb.param("equivocal_lr")

    point = Masses.start(prior.point, weights)
    low = Masses.start(prior.low, weights)
    high = Masses.start(prior.high, weights)
    evidence: list[TumourEvidence] = []
    sources: list[str] = list(prior.source)
    sources.extend(s for s in region_sources if s not in sources)
    histology_idx: int | None = None
    positive_idx: list[int] = []

    counted = {id(t) for t in view.tests} if view is not None and view.reopened else None
    for i, test in enumerate(case.tests):
        if counted is not None and id(test) not in counted:
            continue  # before the relapse or resection: not evidence about a recurrence
        if (
            test.histology is not None
            and test.result != "negative"
            and (test.histology in NEUROBLASTIC or adult)
        ):
            histology_idx = i
        covered = _regions_of(test, kb)
        if is_tumour_positive(test, kb):
            positive_idx.append(i)
        mod = kb.modalities.get(test.modality)
        if not covered:
            continue  # brain, spine or laboratory tests that do not look at the body
        perf = performance(kb, test.modality)
        ordered = tuple(sorted(covered, key=BODY_REGIONS.index))
        unmoved: tuple[float, str, tuple[str, ...]] | None = None
        if test.result in ("equivocal", "pending"):
            unmoved = (
                eq_lr,
                f"{test.result} result: treated as uninformative (LR {eq_lr:g}, assumption)",
                ("assumption",),
            )
        elif not perf.informative:
            unmoved = (1.0, "not used: no published sensitivity for OMS-associated tumours", ())
        elif mod is not None and adult and not mod.adults:
            unmoved = (
                1.0,
                "not used: this test looks for neuroblastic tumours, not the tumours of adult OMS",
                (),
            )
        if unmoved is not None:
            lr_fixed, why, why_sources = unmoved
            evidence.append(
                TumourEvidence.build(
                    test=i,
                    modality=test.modality,
                    result=test.result,
                    regions=ordered,
                    likelihood_ratio=lr_fixed,
                    probability_after=_r(point.probability),
                    interval_after=(_r(low.probability), _r(high.probability)),
                    note=why,
                    sources=why_sources,
                )
            )
            continue
        note = ""
        found = test.result == "positive" and mod is not None and mod.completes_search
        point, lr = _step(point, test, covered, perf, "point", found)
        low, lr_a = _step(low, test, covered, perf, "low", found)
        high, lr_b = _step(high, test, covered, perf, "high", found)
        if found:
            note = (
                f"a mass on {test.modality.upper()} of {', '.join(ordered)}: taken as the "
                "tumour's site, not discounted by the share of tumours found there"
            )
        if test.result == "negative" and len(covered) < len(point.regions):
            missing = [r for r in point.regions if r not in covered]
            note = (
                f"negative for {', '.join(ordered)} only; says nothing about {', '.join(missing)}"
            )
        evidence.append(
            TumourEvidence.build(
                test=i,
                modality=test.modality,
                result=test.result,
                regions=ordered,
                likelihood_ratio=round(lr, 4),
                likelihood_ratio_interval=(round(min(lr_a, lr_b), 4), round(max(lr_a, lr_b), 4)),
                probability_after=_r(point.probability),
                interval_after=(_r(low.probability), _r(high.probability)),
                sensitivity=round(perf.sens[0], 4),
                sensitivity_interval=(round(perf.sens[1], 4), round(perf.sens[2], 4)),
                note=note
                or f"sensitivity from {perf.x:g} of {perf.n:g} (weighted) OMS-associated tumours",
                sources=perf.sources,
            )
        )
        sources.extend(s for s in perf.sources if s not in sources)

    searched = (
        {r: view.covered.get(r) for r in BODY_REGIONS}
        if view is not None and view.reopened
        else searched_regions(case, kb)
    )
    required = kb.pathway.branch(population).search_regions if kb.pathway else BODY_REGIONS
    probability = point.probability
    interval = (min(low.probability, probability), max(high.probability, probability))
    if histology_idx is not None:
        status = "confirmed"
        probability, interval = 1.0, (1.0, 1.0)
        explanation = f"Histology in tests[{histology_idx}] confirms a tumour."
    elif positive_idx:
        status = "suspected"
        explanation = (
            f"A study was positive (tests[{positive_idx[-1]}]) and no histology is recorded yet."
        )
    elif not question:
        status = "not_applicable"
        explanation = (
            "No tumour question arises from the findings entered (no OMS criteria, no "
            "opsoclonus, no neuroblastoma test, no cerebellar hypoperfusion or atrophy, no "
            "prolonged ataxia); the probability shown is the prior for an atypical presentation."
        )
    elif all(searched[r] for r in required):
        status = "not_found"
        explanation = (
            f"{', '.join(required).capitalize()} were all covered by CT/MRI and were negative; "
            "small tumours can still surface later."
        )
    else:
        status = "search_incomplete"
        missing = [r for r in required if searched[r] is None]
        explanation = (
            f"Not yet covered by CT/MRI: {', '.join(missing)}. "
            "MIBG, urine catecholamines, ultrasound and chest X-ray never complete the search."
        )
    if counted is not None:
        since = f"after {view.since}" if view is not None and view.since else "(undated event)"
        explanation += (
            f" The search re-opened: a residual or recurrent tumour is in question, and only the"
            f" tests {since} count; the prior is the population's again (an assumption: no"
            " published rate of residual or recurrent OMS-associated tumours)."
        )
        if "assumption" not in sources:
            sources.append("assumption")
    if question:
        explanation += " Tumour question: " + "; ".join(question) + "."
    if adult:
        explanation += (
            " Adult: CT/MRI sensitivities come from series of neuroblastic tumours in children;"
            " applying them to the cancers of adult OMS is an assumption."
        )
    explanation += (
        f" Prior {prior.point:g} ({prior.low:g}-{prior.high:g}, {prior.label})."
        f" {_INDEPENDENCE} The tumour-site distribution is used at its point value."
    )
    ranked = (
        next_tests(rc, point, kb, adult, searched, required)
        if status in ("search_incomplete", "not_found") and question
        else ()
    )
    result = TumourResult.build(
        status=status,
        probability=round(probability, 4),
        interval=(round(interval[0], 4), round(interval[1], 4)),
        prior=prior.point,
        prior_interval=(prior.low, prior.high),
        prior_id=prior.id,
        searched_regions=searched,
        evidence=tuple(evidence),
        region_probabilities={r: round(v, 4) for r, v in point.region_probability().items()},
        next_tests=ranked,
        population=population,
        explanation=explanation,
        sources=tuple(sources),
    )
    return TumourContext(result=result, question=tuple(question), masses=point, weights=weights)


def _candidate_tests(
    rc: ResolvedCase,
    kb: KnowledgeBase,
    adult: bool,
    searched: Mapping[str, str | None] | None = None,
    required: Sequence[str] = BODY_REGIONS,
) -> list[tuple[str, tuple[str, ...]]]:
    """The studies the ranking considers, as each modality's ``candidate`` says (modalities.yaml).

    A study of the uncovered regions covers those of ``required`` (the population's search,
    pathway.yaml ``search_regions``): the regions its recommendation orders, so the yield on the
    recommendation is that study's (an adult's CT is of chest, abdomen and pelvis, not the neck).
    """
    case = rc.case
    covered = searched if searched is not None else searched_regions(case, kb)
    uncovered = tuple(r for r, by in covered.items() if by is None and r in required)
    done = {t.modality for t in case.tests if t.result in ("negative", "positive")}
    positive = {t.modality for t in case.tests if t.result == "positive"}
    population = "adult" if adult else "child"
    out: list[tuple[str, tuple[str, ...]]] = []
    for mod in kb.modalities.values():
        c = mod.candidate
        if c is None or population not in c.populations:
            continue
        if (adult and not mod.adults) or (not adult and not mod.children):
            continue
        if c.after and not (set(c.after) <= done and not set(c.after) & positive):
            continue
        if c.regions == "uncovered":
            regions = tuple(r for r in uncovered if not c.within or r in c.within)
            if not regions or (mod.id in done and not mod.completes_search):
                continue
            out.append((mod.id, regions))
        elif mod.id not in done and len(uncovered) >= c.min_uncovered:
            if mod.completes_search and not uncovered:
                continue
            out.append((mod.id, ("whole_body",)))
    return out


def next_tests(
    rc: ResolvedCase,
    m: Masses,
    kb: KnowledgeBase,
    adult: bool,
    searched: Mapping[str, str | None] | None = None,
    required: Sequence[str] = BODY_REGIONS,
) -> tuple[NextTest, ...]:
    """Rank the studies not yet done by yield (chance to find a tumour now) and burden.

    yield = P(tumour) x share of tumours in the covered regions x sensitivity (point values).
    """
    ranked: list[NextTest] = []
    region_p = m.region_probability()
    for modality, regions in _candidate_tests(rc, kb, adult, searched, required):
        perf = performance(kb, modality)
        if not perf.informative:
            continue
        mod = kb.modalities[modality]
        covered = (
            frozenset(BODY_REGIONS) if mod.finds == "anywhere" else frozenset(body_regions(regions))
        )
        share = sum(region_p[r] for r in covered)
        yld = share * perf.sens[0]
        after = probability_if_negative(m, covered, perf.sens[0], perf.spec[0])
        ranked.append(
            NextTest.build(
                modality=modality,
                regions=regions,
                yield_probability=round(yld, 4),
                probability_if_negative=round(after, 4),
                burden=mod.burden,
                burden_rank=mod.burden_rank,
                why=(
                    f"P(tumour in {', '.join(r for r in BODY_REGIONS if r in covered)}) "
                    f"{share:.2f} x sensitivity {perf.sens[0]:.2f}"
                ),
                sources=perf.sources,
            )
        )
    # higher yield first; among near-equal yields (within 0.02) the lighter burden for the
    # patient's age first: no ionising radiation in a child (CT is acceptable in adults), then
    # the burden rank, then the knowledge base's order (never the alphabet)
    order = kb.memo("tumour.modality_order", lambda: {m: i for i, m in enumerate(kb.modalities)})

    def key(t: NextTest) -> tuple[int, int, int, int]:
        radiation = int(not adult and kb.modalities[t.modality].ionising_radiation)
        return (-round(t.yield_probability / 0.02), radiation, t.burden_rank, order[t.modality])

    ranked.sort(key=key)
    return tuple(ranked)
