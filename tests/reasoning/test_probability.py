from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omscds.reasoning.probability import (
    Masses,
    beta_interval,
    beta_ppf,
    odds_update,
    probability_if_negative,
    update_regions,
)

REGIONS = ("neck", "chest", "abdomen", "pelvis")


@pytest.mark.parametrize(("x", "n"), [(0, 1), (6, 7), (2, 8), (13, 15)])
def test_beta_interval_brackets_the_mean(x: float, n: float) -> None:
    mean, lo, hi = beta_interval(x, n)
    assert 0 <= lo < mean < hi <= 1
    assert mean == pytest.approx((x + 1) / (n + 2))


def test_beta_ppf_matches_closed_form() -> None:
    # Beta(a, 1) has CDF x**a, so its quantile is q**(1/a)
    for a in (1.0, 2.0, 5.0):
        for q in (0.025, 0.5, 0.975):
            assert beta_ppf(q, a, 1.0) == pytest.approx(q ** (1 / a), abs=1e-9)


@given(st.floats(0.001, 0.999), st.floats(0.01, 100))
def test_odds_update_is_monotone_in_lr(p: float, lr: float) -> None:
    after = odds_update(p, lr)
    assert 0 <= after <= 1
    assert (after <= p + 1e-12) if lr <= 1 else (after >= p - 1e-12)


probs = st.floats(0.01, 0.99)
sens = st.floats(0.05, 0.99)
spec = st.floats(0.5, 0.999)
covered = st.sets(st.sampled_from(REGIONS), min_size=1)
weights = st.lists(st.floats(0.1, 30), min_size=4, max_size=4)


@given(probs, covered, sens, spec, weights)
def test_negative_never_raises_positive_never_lowers(
    p: float, cov: set[str], s: float, c: float, w: list[float]
) -> None:
    m = Masses.start(p, dict(zip(REGIONS, w, strict=True)))
    neg, lr_neg = update_regions(m, frozenset(cov), "negative", s, c)
    pos, _ = update_regions(m, frozenset(cov), "positive", s, c)
    assert neg.probability <= p + 1e-9
    assert lr_neg <= 1 + 1e-9
    assert pos.probability >= p - 1e-9  # never taken as worse than chance
    for after in (neg, pos):
        assert 0 <= after.probability <= 1
        assert math.isclose(after.tumour + after.none, 1.0, rel_tol=1e-9)


def test_negative_study_only_lowers_the_regions_it_covered() -> None:
    m = Masses.start(0.5, {"neck": 1, "chest": 1, "abdomen": 1, "pelvis": 1})
    after, _ = update_regions(m, frozenset({"chest"}), "negative", 0.9, 1.0)
    rp = after.region_probability()
    assert rp["chest"] < rp["abdomen"] == rp["neck"] == rp["pelvis"]


@pytest.mark.parametrize("result", ["equivocal", "pending"])
def test_equivocal_is_uninformative(result: str) -> None:
    m = Masses.start(0.4, {"neck": 1, "chest": 1, "abdomen": 1, "pelvis": 1})
    after, lr = update_regions(m, frozenset(REGIONS), result, 0.9, 0.9)
    assert lr == 1.0 and after.probability == pytest.approx(0.4)


@given(
    st.floats(0.0, 1.0),
    st.sets(st.sampled_from(REGIONS)),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    weights,
)
def test_probability_if_negative_is_the_negative_update_to_the_last_bit(
    p: float, cov: set[str], s: float, c: float, w: list[float]
) -> None:
    # the next-test ranking uses the shortcut: it must give the very float the update gives,
    # so that no rounded "probability left if negative" can differ (including the edges:
    # certainty, a study with no specificity, one that covers nothing)
    m = Masses.start(p, dict(zip(REGIONS, w, strict=True)))
    full, _ = update_regions(m, frozenset(cov), "negative", s, c)
    assert probability_if_negative(m, frozenset(cov), s, c) == full.probability
