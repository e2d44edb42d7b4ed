"""End-to-end analysis on phantoms: ratio error, detection over 20 seeds, QC, case tests."""

from __future__ import annotations

import numpy as np
import pytest

from omscds.errors import ImagingError, InputError
from omscds.imaging import analyze_volume, load_norms, to_case_test
from omscds.imaging.volume import Volume
from omscds.model.case import TestResult

from .conftest import small_phantom

SEEDS = range(20)
AGE = 24.0


def _z(**kw: object) -> float:
    res = analyze_volume(small_phantom(**kw).volume, "spect", AGE)
    return res.z_scores["cerebellum_to_cortex"]


def test_normals_not_flagged_over_20_seeds() -> None:
    zs = [_z(seed=s) for s in SEEDS]
    flag = load_norms().threshold("z_flag")
    assert max(zs) < flag, zs
    assert abs(float(np.mean(zs))) < 1.0, zs  # centred on the norm, not drifting


def test_30_percent_deficits_flagged_over_20_seeds() -> None:
    zs = [_z(seed=s, deficit=0.3) for s in SEEDS]
    assert min(zs) > 2.5, zs


def test_ratio_error_against_truth_without_noise() -> None:
    """Deficit d scales the cerebellar ratio by (1 - d) up to partial volume at the edges."""
    norm = load_norms().row("cerebellum_to_cortex", AGE).mean
    kw = {"seed": 7, "counts": 5e8}
    base = analyze_volume(small_phantom(**kw).volume, "spect", AGE).ratios
    low = analyze_volume(small_phantom(deficit=0.4, **kw).volume, "spect", AGE).ratios
    assert abs(base["cerebellum_to_cortex"] - norm) / norm < 0.12
    measured = 1 - low["cerebellum_to_cortex"] / base["cerebellum_to_cortex"]
    assert 0.3 < measured < 0.42  # partial volume can only dilute the 40 % deficit


def test_seed_child_pattern_flagged_and_turned_into_case_test() -> None:
    """2-year-old, severe global cerebellar hypoperfusion vs cortex, with atrophy."""
    ph = small_phantom(seed=2, deficit=0.5, atrophy_mm=3)
    res = analyze_volume(ph.volume, "spect", AGE, zmap=True)
    assert res.findings == ["cerebellar_hypoperfusion"]
    assert res.zmap is not None and res.zmap.shape == res.registered.shape  # type: ignore[union-attr]
    test = to_case_test(res)
    parsed = TestResult.model_validate(test)
    assert parsed.modality == "perfusion_spect"
    assert parsed.result == "positive"
    assert "perfusion and/or volume" in (parsed.note or "")
    assert parsed.quantitative["cerebellum_to_cortex"] < 0.7


def test_seed_child_spect_leads_to_body_imaging() -> None:
    from omscds.knowledge import load_knowledge
    from omscds.reasoning import assess_data

    res = analyze_volume(small_phantom(seed=3, deficit=0.5).volume, "spect", AGE)
    case = {
        "case_id": "seed-2-imaging",
        "age_months": AGE,
        "findings": {"opsoclonus": "present", "ataxia": "present", "irritability": "present"},
        "tests": [to_case_test(res)],
    }
    out = assess_data(case, load_knowledge())
    body = [
        r
        for r in out.recommendations
        if r.kind == "imaging" and set(r.regions) & {"chest", "abdomen", "pelvis"}
    ]
    assert body, out.recommendations


def test_unilateral_deficit_warns_about_asymmetry() -> None:
    res = analyze_volume(small_phantom(seed=4, deficit=0.4, unilateral=True).volume, "spect", AGE)
    assert res.ratios["asymmetry_index_percent"] < -10
    assert any("asymmetry" in w for w in res.qc["warnings"])


def test_no_age_gives_no_z_and_equivocal(normal_spect) -> None:  # type: ignore[no-untyped-def]
    res = analyze_volume(normal_spect.volume, "spect", None)
    assert res.z_scores == {} and res.findings == []
    assert to_case_test(res)["result"] == "equivocal"
    assert any("age not given" in w for w in res.qc["warnings"])


def test_mri_atrophy_lowers_ratio_and_severe_is_flagged() -> None:
    kw = {"kind": "mri", "seed": 1, "fwhm": 2.0, "spacing": 3.5}
    normal = analyze_volume(small_phantom(**kw).volume, "mri", AGE)
    severe = analyze_volume(small_phantom(atrophy_mm=6, **kw).volume, "mri", AGE)
    assert normal.findings == []
    assert severe.findings == ["cerebellar_atrophy"]
    assert severe.volumes["cerebellar_volume_ml"] < 0.7 * normal.volumes["cerebellar_volume_ml"]
    assert to_case_test(severe)["modality"] == "mri"


# ---- QC refusals -------------------------------------------------------------------------


def _flip_si(v: Volume) -> Volume:
    # the voxels upside down while the header still claims the original orientation
    return Volume(v.data[:, :, ::-1].copy(), v.affine)


def test_wrong_orientation_is_refused(normal_spect) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImagingError, match="orientation looks wrong"):
        analyze_volume(_flip_si(normal_spect.volume), "spect", AGE)


def test_fov_missing_cerebellum_is_refused(normal_spect) -> None:  # type: ignore[no-untyped-def]
    v = normal_spect.volume
    cut = v.data.copy()
    cut[:, :, :26] = 0  # the bottom ~100 mm are outside the field of view
    aff = v.affine.copy()
    aff[:3, 3] += aff[:3, 2] * 26
    with pytest.raises(ImagingError, match=r"field of view|registration failed|orientation"):
        analyze_volume(Volume(cut[:, :, 26:].copy(), aff), "spect", AGE)


def test_too_few_counts_is_refused() -> None:
    with pytest.raises(ImagingError, match="too few counts"):
        analyze_volume(small_phantom(seed=1, counts=2e4).volume, "spect", AGE)


def test_noise_image_fails_registration_qc() -> None:
    rng = np.random.default_rng(0)
    data = rng.poisson(5.0, (64, 64, 64)).astype(float)
    aff = np.diag([4.0, 4.0, 4.0, 1.0])
    aff[:3, 3] = -126
    with pytest.raises(ImagingError, match=r"registration failed|orientation"):
        analyze_volume(Volume(data, aff), "spect", AGE)


def test_bad_kind_and_age_are_input_errors(normal_spect) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        analyze_volume(normal_spect.volume, "pet", AGE)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        analyze_volume(normal_spect.volume, "spect", -3)
