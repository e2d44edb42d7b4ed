"""Every z-score omscds reports is read out in its sign convention (positive = below the mean)."""

from __future__ import annotations

import datetime as dt

import pytest

from omscds.imaging import analyze_volume
from omscds.imaging.analyze import to_case_test
from omscds.imaging.norms import MEASURE_WORDS, MEASURES, Z_CONVENTION, NormRow, z_score, z_words
from omscds.interfaces.cli.imaging import _text


def _row(mean: float, sd: float) -> NormRow:
    return NormRow(
        measure="cerebellum_to_cortex", age_min_months=0, mean=mean, sd=sd,
        source="assumption", reasoning="test", as_of=dt.date(2026, 1, 1),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "words"),
    [(0.36, "6.4 SD below the age-band mean"), (1.05, "0.5 SD above the age-band mean"),
     (1.0, "at the age-band mean")],
)  # fmt: skip
def test_words_follow_the_sign_z_score_computes(value: float, words: str) -> None:
    z = z_score(value, _row(1.0, 0.1))
    said = z_words("cerebellum_to_cortex", z)
    assert said.endswith(words) and said.startswith(f"z = {round(z, 1) + 0.0:.1f}: ")
    assert "-0.0" not in said


def test_every_measure_has_words() -> None:
    assert set(MEASURES) == set(MEASURE_WORDS)


def test_outputs_state_the_convention(normal_spect, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    res = analyze_volume(normal_spect.volume, "spect", 24)
    d = res.to_dict()
    assert d["z_convention"] == Z_CONVENTION and "positive z is a value below" in Z_CONVENTION
    assert set(d["z_meaning"]) == set(d["z_scores"])
    for measure, z in res.z_scores.items():
        assert d["z_meaning"][measure] == z_words(measure, z)
    said = d["z_meaning"]["cerebellum_to_cortex"]
    assert said in res.interpretation and said in to_case_test(res)["note"]
    _text(d, [])
    out = capsys.readouterr().out
    assert said in out and Z_CONVENTION in out
