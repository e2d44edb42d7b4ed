"""Affine registration of a study to the template with SimpleITK (Mattes MI, coarse to fine).

Moments initialisation, Mattes mutual information (32 bins, random samples), regular-step
gradient descent with physical-shift scales, one ``Level`` per pyramid level (imaging-notes
§4.1). What makes it fast, measured side by side with antspyx ``AffineFast`` in
``bench/imaging.py`` (docs/imaging.md, "Benchmark"):

* **no gradient images**: by default ITK's metric computes a recursive-Gaussian gradient image of
  the whole fixed and moving image at every level, which cost more than the optimisation itself;
  a few thousand samples need the gradient only at their own points (central differences);
* **the study is block-averaged** to about ``Schedule.study_voxel_mm`` once (2.2 mm SPECT -> 4.4
  mm): well inside a 10 mm FWHM camera's resolution, it averages Poisson noise (fewer iterations)
  and is cheaper to interpolate than a smoothed full-resolution copy per level;
* **the template side is prepared once** (``prepare_fixed``: the smoothed template per level), not
  per study;
* **early stopping per level**: the coarse level takes big steps and stops at a coarse minimum
  step; the fine level starts with small steps and half the samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError
from omscds.imaging.volume import Volume, sitk, to_sitk

__all__ = [
    "MRI_SCHEDULE",
    "SPECT_SCHEDULE",
    "FixedImage",
    "Level",
    "Registration",
    "Schedule",
    "prepare_fixed",
    "register_affine",
    "resample_to",
    "study_bin_factors",
    "transform_error_mm",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Level:
    """One pyramid level: samples on the template grid shrunk by ``shrink``.

    The template is smoothed with sigma ``shrink / 2`` voxels; ``learning_rate`` is the first
    step and ``min_step`` the step at which the level stops (both in physical-shift units, about
    mm); ``iterations`` caps it.
    """

    shrink: int
    sampling: float
    iterations: int
    learning_rate: float
    min_step: float

    @property
    def sigma_voxels(self) -> float:
        return self.shrink / 2.0 if self.shrink > 1 else 0.0


@dataclass(frozen=True)
class Schedule:
    """Pyramid levels, coarse to fine, and the voxel size the study is block-averaged to."""

    levels: tuple[Level, ...]
    #: block-average the study to voxels of about this size before registering (0: keep it)
    study_voxel_mm: float = 0.0
    bins: int = 32


#: SPECT (about 10 mm FWHM): an 8 mm then a 4 mm sampling grid on the 2 mm template, the study
#: block-averaged to about 4 mm. Chosen side by side with AffineFast in bench/imaging.py (10
#: phantoms, docs/imaging.md): about 0.6 mm mean error (AffineFast about 0.95 mm) in about a
#: fifth of its time. Finishing on a 6 mm grid was 15 % faster and as accurate in mm, but biased
#: the cerebellum/cortex z-score twice as much (-0.04 vs -0.01 against the true transform).
SPECT_SCHEDULE = Schedule(
    levels=(Level(4, 0.10, 200, 2.0, 1e-2), Level(2, 0.05, 200, 0.5, 1e-3)),
    study_voxel_mm=4.0,
)

#: MRI keeps its full resolution and ends on the template's own 2 mm grid.
MRI_SCHEDULE = Schedule(
    levels=(
        Level(4, 0.10, 200, 2.0, 1e-2),
        Level(2, 0.10, 200, 0.5, 1e-3),
        Level(1, 0.05, 100, 0.25, 1e-3),
    ),
)


@dataclass(frozen=True, eq=False)
class FixedImage:
    """The template side of a registration, prepared once: smoothed copies per sigma (voxels)."""

    volume: Volume
    smoothed: dict[float, Any]
    mask: Any | None = None


@dataclass(frozen=True, eq=False)
class Registration:
    """``matrix`` maps template (fixed) mm to study (moving) mm, as a 4x4 affine."""

    matrix: FloatArray
    metric: float
    #: iterations over all levels, and per level
    iterations: int
    seconds: float
    stop: str
    level_iterations: tuple[int, ...] = ()


def prepare_fixed(
    fixed: Volume, schedule: Schedule, mask: NDArray[np.bool_] | None = None
) -> FixedImage:
    """Smooth the template once for every level of ``schedule`` (reuse it across studies)."""
    sk = sitk()
    base = to_sitk(fixed.data, fixed.affine)
    smoothed: dict[float, Any] = {0.0: base}
    for level in schedule.levels:
        s = level.sigma_voxels
        if s not in smoothed:
            smoothed[s] = sk.SmoothingRecursiveGaussian(base, [s * sp for sp in base.GetSpacing()])
    sk_mask = None
    if mask is not None:
        sk_mask = to_sitk(mask.astype(np.float64), fixed.affine) > 0.5
    return FixedImage(volume=fixed, smoothed=smoothed, mask=sk_mask)


def study_bin_factors(spacing: tuple[float, float, float], voxel_mm: float) -> list[int]:
    """Block size per axis that brings ``spacing`` to about ``voxel_mm`` (1: keep the axis).

    >>> study_bin_factors((2.2, 2.2, 3.3), 4.0)
    [2, 2, 1]
    >>> study_bin_factors((4.0, 4.0, 4.0), 4.0)
    [1, 1, 1]
    """
    if voxel_mm <= 0:
        return [1, 1, 1]
    return [max(1, round(voxel_mm / s)) for s in spacing]


def _to_matrix(tx: Any) -> FloatArray:
    a = np.asarray(tx.GetMatrix(), dtype=np.float64).reshape(3, 3)
    c = np.asarray(tx.GetCenter(), dtype=np.float64)
    t = np.asarray(tx.GetTranslation(), dtype=np.float64)
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = t + c - a @ c
    return m


def _method(level: Level, schedule: Schedule, seed: int, mask: Any | None) -> Any:
    sk = sitk()
    reg = sk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=schedule.bins)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(level.sampling, seed)
    # gradients at the sample points only, not a gradient image of the whole volume per level
    reg.SetMetricUseFixedImageGradientFilter(False)
    reg.SetMetricUseMovingImageGradientFilter(False)
    if mask is not None:
        reg.SetMetricFixedMask(mask)
    reg.SetInterpolator(sk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=level.learning_rate,
        minStep=level.min_step,
        numberOfIterations=level.iterations,
        gradientMagnitudeTolerance=1e-5,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    # the template is already smoothed for this level: ITK only shrinks the sampling grid
    reg.SetShrinkFactorsPerLevel([level.shrink])
    reg.SetSmoothingSigmasPerLevel([0.0])
    return reg


def register_affine(
    fixed: Volume | FixedImage,
    moving: Volume,
    *,
    schedule: Schedule = SPECT_SCHEDULE,
    seed: int = 1,
    fixed_mask: NDArray[np.bool_] | None = None,
) -> Registration:
    """Register ``moving`` to ``fixed`` with a 12-parameter affine; deterministic for a seed.

    Pass a ``FixedImage`` from ``prepare_fixed`` (prepared for the same schedule) to reuse the
    smoothed template across studies.
    """
    sk = sitk()
    t0 = time.perf_counter()
    if isinstance(fixed, Volume):
        fixed = prepare_fixed(fixed, schedule, fixed_mask)
    elif fixed_mask is not None:
        raise ImagingError("pass the fixed mask to prepare_fixed, not with a prepared template")
    missing = {lv.sigma_voxels for lv in schedule.levels} - set(fixed.smoothed)
    if missing:
        raise ImagingError(f"template not prepared for this schedule (sigmas {sorted(missing)})")
    m = to_sitk(moving.data, moving.affine)
    bins = study_bin_factors(moving.spacing, schedule.study_voxel_mm)
    if max(bins) > 1:
        m = sk.BinShrink(m, bins)
    tx = sk.AffineTransform(
        sk.CenteredTransformInitializer(
            fixed.smoothed[0.0],
            m,
            sk.AffineTransform(3),
            sk.CenteredTransformInitializerFilter.MOMENTS,
        )
    )
    counts: list[int] = []
    reg: Any = None
    for level in schedule.levels:
        reg = _method(level, schedule, seed, fixed.mask)
        reg.SetInitialTransform(tx, inPlace=True)
        try:
            reg.Execute(fixed.smoothed[level.sigma_voxels], m)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown"
            raise ImagingError(f"registration failed: {first}") from None
        counts.append(int(reg.GetOptimizerIteration()))
    if reg is None:
        raise ImagingError("registration schedule has no levels")
    return Registration(
        matrix=_to_matrix(tx),
        metric=float(reg.GetMetricValue()),
        iterations=sum(counts),
        seconds=time.perf_counter() - t0,
        stop=str(reg.GetOptimizerStopConditionDescription()),
        level_iterations=tuple(counts),
    )


def resample_to(
    moving: Volume,
    grid_shape: tuple[int, int, int],
    grid_affine: FloatArray,
    matrix: FloatArray,
    *,
    order: int = 1,
    cval: float = 0.0,
) -> FloatArray:
    """Sample ``moving`` on a grid: voxel (i,j,k) -> grid mm -> ``matrix`` -> moving voxel."""
    from scipy.ndimage import map_coordinates

    vox = np.linalg.inv(moving.affine) @ matrix @ grid_affine
    ijk = np.indices(grid_shape, dtype=np.float64).reshape(3, -1)
    coords = vox[:3, :3] @ ijk + vox[:3, 3:4]
    out = map_coordinates(moving.data, coords, order=order, cval=cval, prefilter=False)
    return np.asarray(out, dtype=np.float64).reshape(grid_shape)


def transform_error_mm(estimated: FloatArray, true: FloatArray, points: FloatArray) -> float:
    """Mean distance (mm) between two fixed->moving mappings over ``points`` (n, 3).

    >>> transform_error_mm(np.eye(4), np.eye(4), np.zeros((2, 3)))
    0.0
    """
    p = np.c_[points, np.ones(len(points))].T
    d = (estimated @ p - true @ p)[:3]
    return float(np.sqrt((d**2).sum(axis=0)).mean())
