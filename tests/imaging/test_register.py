"""Registration on phantoms with a known template->study transform (the schedules the code uses)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from omscds.errors import ImagingError
from omscds.imaging import analyze_volume
from omscds.imaging.analyze import _context
from omscds.imaging.register import (
    SPECT_SCHEDULE,
    Level,
    Schedule,
    prepare_fixed,
    register_affine,
    study_bin_factors,
    transform_error_mm,
)
from omscds.imaging.volume import Volume

from .conftest import small_phantom

AGE = 24.0


def _points() -> np.ndarray:
    tpl = _context().template
    return tpl.world()[tpl.mask][::10]


def _rotate_z(degrees: float, shift: tuple[float, float, float]) -> np.ndarray:
    a = np.deg2rad(degrees)
    m = np.eye(4)
    m[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    m[:3, 3] = shift
    return m


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spect_registration_error_under_1_mm(seed: int) -> None:
    """The whole pipeline (analyze_volume: its schedule, its prepared template) on a phantom."""
    ph = small_phantom(seed=seed, deficit=0.3 if seed % 2 else 0.0)
    res = analyze_volume(ph.volume, "spect", AGE)
    assert res.matrix is not None
    assert transform_error_mm(res.matrix, ph.true_matrix, _points()) < 1.0
    assert len(res.qc["registration"]["level_iterations"]) == len(SPECT_SCHEDULE.levels)


def test_spect_registration_recovers_an_extra_rotation_and_shift() -> None:
    """12 degrees and 13 mm beyond the phantom's own pose (the moments start does not undo it)."""
    ph = small_phantom(seed=5)
    extra = _rotate_z(12.0, (8.0, -8.0, 6.0))
    moved = Volume(ph.volume.data, extra @ ph.volume.affine)
    res = analyze_volume(moved, "spect", AGE)
    assert res.matrix is not None
    assert transform_error_mm(res.matrix, extra @ ph.true_matrix, _points()) < 1.0


def test_mri_registration_error_under_1_mm() -> None:
    ph = small_phantom(kind="mri", seed=1, fwhm=2.0, spacing=3.5)
    res = analyze_volume(ph.volume, "mri", AGE)
    assert res.matrix is not None
    assert transform_error_mm(res.matrix, ph.true_matrix, _points()) < 1.0


def test_prepared_template_gives_the_same_result_and_is_deterministic() -> None:
    ctx = _context()
    fixed = Volume(np.asarray(ctx.perfusion), np.asarray(ctx.template.affine))
    study = small_phantom(seed=3).volume
    a = register_affine(fixed, study)
    b = register_affine(ctx.spect_fixed, study)
    c = register_affine(ctx.spect_fixed, study)
    # equal up to the order of multi-threaded sums
    np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-6)
    np.testing.assert_allclose(b.matrix, c.matrix, atol=1e-6)
    assert b.iterations == sum(b.level_iterations) > 0


def test_coarse_only_schedule_is_less_accurate() -> None:
    """The levels matter: a test that could not fail would not tell the schedules apart."""
    ctx = _context()
    coarse = Schedule(levels=(Level(8, 0.1, 200, 2.0, 1e-2),), study_voxel_mm=16.0)
    fixed = prepare_fixed(
        Volume(np.asarray(ctx.perfusion), np.asarray(ctx.template.affine)), coarse
    )
    errors = []
    for seed in (0, 1):
        ph = small_phantom(seed=seed)
        fine = register_affine(ctx.spect_fixed, ph.volume).matrix
        rough = register_affine(fixed, ph.volume, schedule=coarse).matrix
        errors.append(
            (
                transform_error_mm(fine, ph.true_matrix, _points()),
                transform_error_mm(rough, ph.true_matrix, _points()),
            )
        )
    assert all(f < r for f, r in errors), errors


def test_template_not_prepared_for_the_schedule_is_refused() -> None:
    ctx = _context()
    other = dataclasses.replace(SPECT_SCHEDULE, levels=(Level(6, 0.1, 50, 1.0, 1e-2),))
    with pytest.raises(ImagingError, match="not prepared"):
        register_affine(ctx.spect_fixed, small_phantom(seed=0).volume, schedule=other)


def test_study_bin_factors_bring_voxels_near_the_target() -> None:
    assert study_bin_factors((2.2, 2.2, 2.2), SPECT_SCHEDULE.study_voxel_mm) == [2, 2, 2]
    assert study_bin_factors((1.0, 1.0, 2.0), 4.0) == [4, 4, 2]
    assert study_bin_factors((2.2, 2.2, 2.2), 0.0) == [1, 1, 1]
