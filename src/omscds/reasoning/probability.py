"""Probability primitives: Beta credible intervals and a region-aware Bayesian update.

Pure functions with no dependencies beyond the standard library (the CLI starts fast).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Masses",
    "beta_interval",
    "beta_ppf",
    "odds_update",
    "probability_if_negative",
    "update_found",
    "update_regions",
]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-12:
            break
    return h


def _beta_cdf(x: float, a: float, b: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(ln_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


@lru_cache(maxsize=4096)
def beta_ppf(q: float, a: float, b: float) -> float:
    """Quantile of Beta(a, b) by bisection on the regularised incomplete beta.

    >>> round(beta_ppf(0.5, 1, 1), 6)
    0.5
    >>> round(beta_ppf(0.025, 5, 1), 4)   # Beta(5,1) quantile = q ** (1/5)
    0.4782
    """
    lo, hi = 0.0, 1.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if _beta_cdf(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def beta_interval(
    x: float, n: float, level: float = 0.95, prior: float = 1.0
) -> tuple[float, float, float]:
    """Posterior mean and equal-tailed credible interval of a proportion from x of n.

    Beta(x + prior, n - x + prior); with the uniform prior, 6 of 7 gives mean 7/9.

    >>> m, lo, hi = beta_interval(6, 7)
    >>> round(m, 3), round(lo, 3), round(hi, 3)
    (0.778, 0.473, 0.968)
    """
    a, b = x + prior, n - x + prior
    tail = (1.0 - level) / 2
    return a / (a + b), beta_ppf(tail, a, b), beta_ppf(1.0 - tail, a, b)


def odds_update(p: float, lr: float) -> float:
    """Bayes' rule on the odds scale: posterior odds = prior odds x likelihood ratio.

    >>> odds_update(0.5, 3.0)
    0.75
    """
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    odds = p / (1.0 - p) * lr
    return odds / (1.0 + odds)


@dataclass(frozen=True)
class Masses:
    """Unnormalised probability of 'tumour in region r' for each region and of 'no tumour'."""

    regions: Mapping[str, float]
    none: float

    @classmethod
    def start(cls, p: float, weights: Mapping[str, float]) -> Masses:
        total = sum(weights.values())
        return cls({r: p * w / total for r, w in weights.items()}, 1.0 - p)

    @property
    def tumour(self) -> float:
        return sum(self.regions.values())

    @property
    def probability(self) -> float:
        """P(tumour) after normalising.

        >>> Masses.start(0.5, {"chest": 1, "abdomen": 3}).probability
        0.5
        """
        t = self.tumour
        return t / (t + self.none) if t + self.none > 0 else 0.0

    def region_probability(self) -> dict[str, float]:
        t = self.tumour
        z = t + self.none
        return {r: m / z for r, m in self.regions.items()} if z > 0 else dict(self.regions)


def _factors(result: str, sens: float, spec: float) -> tuple[float, float, float] | None:
    """P(result | tumour in a covered region), P(result | tumour elsewhere), P(result | no
    tumour); None for a result that moves nothing (equivocal, pending).

    A study is never taken as worse than chance: a negative result cannot be more likely with
    the tumour in a covered region than without one (and conversely for a positive result).
    """
    if result == "negative":
        return _negative(sens, spec)
    if result == "positive":
        return max(sens, 1.0 - spec), 1.0 - spec, 1.0 - spec
    return None


def _negative(sens: float, spec: float) -> tuple[float, float, float]:
    return min(1.0 - sens, spec), spec, spec


def update_regions(
    m: Masses, covered: frozenset[str], result: str, sens: float, spec: float
) -> tuple[Masses, float]:
    """Update region masses by a test covering ``covered`` regions; return (masses, LR).

    A negative study lowers only the regions it covered: P(neg | tumour in a covered region) =
    1 - sensitivity; P(neg | tumour elsewhere or no tumour) = specificity. A positive one:
    P(pos | covered tumour) = sensitivity; otherwise 1 - specificity. The returned LR is the
    whole-body likelihood ratio P(result | tumour) / P(result | no tumour).

    >>> m = Masses.start(0.5, {"chest": 1.0, "abdomen": 1.0})
    >>> m2, lr = update_regions(m, frozenset({"chest"}), "negative", 0.9, 1.0)
    >>> round(m2.probability, 4), round(lr, 3)
    (0.3548, 0.55)
    """
    factors = _factors(result, sens, spec)
    if factors is None:
        return m, 1.0
    inside, outside, none_f = factors
    new = {r: v * (inside if r in covered else outside) for r, v in m.regions.items()}
    t_before, t_after = m.tumour, sum(new.values())
    p_result_t = t_after / t_before if t_before > 0 else 0.0
    lr = p_result_t / none_f if none_f > 0 else math.inf
    total = t_after + m.none * none_f
    if total <= 0:
        return m, 1.0
    return Masses({r: v / total for r, v in new.items()}, m.none * none_f / total), lr


def probability_if_negative(m: Masses, covered: frozenset[str], sens: float, spec: float) -> float:
    """``update_regions(m, covered, "negative", sens, spec)[0].probability`` without building
    the masses: the same operations in the same order, so the same float (the next-test ranking
    asks this of every candidate study on every assessment).

    >>> m = Masses.start(0.5, {"chest": 1.0, "abdomen": 1.0})
    >>> probability_if_negative(m, frozenset({"chest"}), 0.9, 1.0) == update_regions(
    ...     m, frozenset({"chest"}), "negative", 0.9, 1.0)[0].probability
    True
    """
    inside, outside, none_f = _negative(sens, spec)
    new = [v * (inside if r in covered else outside) for r, v in m.regions.items()]
    total = sum(new) + m.none * none_f
    if total <= 0:
        return m.probability
    t = sum(v / total for v in new)
    none = m.none * none_f / total
    return t / (t + none) if t + none > 0 else 0.0


def update_found(
    m: Masses, covered: frozenset[str], sens: float, spec: float
) -> tuple[Masses, float]:
    """A mass on CT/MRI of ``covered``: the study shows where the tumour is.

    The regional update (``update_regions``) multiplies a positive study by the share of
    tumours in the covered regions, as if the study had been the only look at the body; for a
    mass that share is irrelevant (a solid paraspinal, adrenal or presacral mass in a child with
    OMS is almost always the tumour: clinical review 2026-12, point 8). So the tumour's site
    mass is first moved into the covered regions, then the whole-body likelihood ratio
    sensitivity / (1 - specificity) applies.

    >>> m = Masses.start(0.5, {"chest": 1.0, "abdomen": 9.0})
    >>> round(update_found(m, frozenset({"chest"}), 0.9, 0.98)[0].probability, 3)
    0.978
    >>> round(update_regions(m, frozenset({"chest"}), "positive", 0.9, 0.98)[0].probability, 3)
    0.844
    """
    t = m.tumour
    weights = {r: v for r, v in m.regions.items() if r in covered}
    wsum = sum(weights.values())
    if t <= 0 or wsum <= 0:
        return update_regions(m, covered, "positive", sens, spec)
    inside = max(sens, 1.0 - spec)
    new = {r: (t * v / wsum * inside if r in covered else 0.0) for r, v in m.regions.items()}
    none_f = 1.0 - spec
    total = sum(new.values()) + m.none * none_f
    lr = inside / none_f if none_f > 0 else math.inf
    if total <= 0:
        return m, 1.0
    return Masses({r: v / total for r, v in new.items()}, m.none * none_f / total), lr
