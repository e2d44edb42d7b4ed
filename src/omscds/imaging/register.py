"""Affine registration of a study to the template with SimpleITK (Mattes MI, multi-resolution).

Settings follow imaging-notes §4.1: moments initialisation, Mattes mutual information with 32
bins and 10 % random sampling, regular-step gradient descent with physical-shift scales, a
coarse-to-fine pyramid. Two levels (8 and 4 mm on the 2 mm template) reach about 1 mm error in
under 3 s on two cores; a third, full-resolution level is available for MRI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError
from omscds.imaging.volume import Volume, sitk, to_sitk

__all__ = ["Registration", "register_affine", "resample_to", "transform_error_mm"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Registration:
    """``matrix`` maps template (fixed) mm to study (moving) mm, as a 4x4 affine."""

    matrix: FloatArray
    metric: float
    iterations: int
    seconds: float
    stop: str


def _to_matrix(tx: Any) -> FloatArray:
    a = np.asarray(tx.GetMatrix(), dtype=np.float64).reshape(3, 3)
    c = np.asarray(tx.GetCenter(), dtype=np.float64)
    t = np.asarray(tx.GetTranslation(), dtype=np.float64)
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = t + c - a @ c
    return m


def register_affine(
    fixed: Volume,
    moving: Volume,
    *,
    shrink: tuple[int, ...] = (4, 2),
    sampling: float = 0.1,
    iterations: int = 200,
    seed: int = 1,
    fixed_mask: NDArray[np.bool_] | None = None,
) -> Registration:
    """Register ``moving`` to ``fixed`` with a 12-parameter affine; deterministic for a seed."""
    sk = sitk()
    t0 = time.perf_counter()
    f = to_sitk(fixed.data, fixed.affine)
    m = to_sitk(moving.data, moving.affine)
    init = sk.CenteredTransformInitializer(
        f, m, sk.AffineTransform(3), sk.CenteredTransformInitializerFilter.MOMENTS
    )
    reg = sk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(sampling, seed)
    if fixed_mask is not None:
        reg.SetMetricFixedMask(to_sitk(fixed_mask.astype(np.float64), fixed.affine) > 0.5)
    reg.SetInterpolator(sk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1.0,
        minStep=1e-3,
        numberOfIterations=iterations,
        gradientMagnitudeTolerance=1e-5,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(list(shrink))
    reg.SetSmoothingSigmasPerLevel([max(s / 2.0, 0.0) for s in shrink])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    reg.SetInitialTransform(init, inPlace=False)
    try:
        out = reg.Execute(f, m)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown"
        raise ImagingError(f"registration failed: {first}") from None
    tx = out.GetNthTransform(0) if hasattr(out, "GetNthTransform") else out
    tx = sk.AffineTransform(tx)
    return Registration(
        matrix=_to_matrix(tx),
        metric=float(reg.GetMetricValue()),
        iterations=int(reg.GetOptimizerIteration()),
        seconds=time.perf_counter() - t0,
        stop=str(reg.GetOptimizerStopConditionDescription()),
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
