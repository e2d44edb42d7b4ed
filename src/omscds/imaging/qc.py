"""Quality control: refuse or warn, never return a silent number (issue 7, item 4).

Checks: header orientation against template correlation (superior-inferior and anterior-
posterior flips; left-right cannot be told from a symmetric brain and is trusted to the
header), registration success (correlation with the template), field of view covering the
cerebellum, plausible head size, and counts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError
from omscds.imaging.volume import Volume

__all__ = [
    "check_counts",
    "check_fov",
    "check_orientation",
    "check_registration",
    "correlation",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def correlation(a: FloatArray, b: FloatArray, mask: BoolArray) -> float:
    """Pearson correlation of two images inside ``mask`` (0 when either is flat)."""
    x, y = a[mask], b[mask]
    sx, sy = float(x.std()), float(y.std())
    if sx == 0 or sy == 0:
        return 0.0
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))


def _moments(weights: FloatArray, world: FloatArray) -> tuple[FloatArray, float]:
    w = np.clip(weights, 0, None).ravel()
    pts = world.reshape(-1, 3)
    total = float(w.sum())
    if total <= 0:
        raise ImagingError("the image is empty (no positive values)")
    c = (w[:, None] * pts).sum(axis=0) / total
    spread = float((w * ((pts - c) ** 2).sum(axis=1)).sum() / total)
    return c, spread


def check_orientation(
    moving: Volume, fixed: FloatArray, fixed_affine: FloatArray, mask: BoolArray, margin: float
) -> dict[str, float]:
    """Correlate the study with the template after a moments alignment, as stated and flipped.

    Raises ImagingError when a superior-inferior or anterior-posterior flip fits clearly better.
    """
    from scipy.ndimage import map_coordinates

    # every second voxel is plenty for a global fit and keeps this check well under 0.1 s
    sub = (slice(None, None, 2),) * 3
    half = np.diag([2.0, 2.0, 2.0, 1.0])
    mdata = moving.data[sub]
    cm, sm = _moments(mdata, _world(mdata.shape, moving.affine @ half))
    fmask, fdata = mask[sub], fixed[sub]
    fw = _world(fmask.shape, fixed_affine @ half)
    ct, st = _moments(np.where(fmask, fdata, 0.0), fw)
    scale = np.sqrt(sm / st)
    inv = np.linalg.inv(moving.affine)
    pts = fw[fmask] - ct
    scores: dict[str, float] = {}
    for name, flip in (("as_stated", (1, 1, 1)), ("flip_si", (1, 1, -1)), ("flip_ap", (1, -1, 1))):
        p = cm + scale * pts * np.asarray(flip, dtype=np.float64)
        ijk = inv[:3, :3] @ p.T + inv[:3, 3:4]
        vals = map_coordinates(moving.data, ijk, order=1, cval=0.0, prefilter=False)
        ref = fdata[fmask]
        scores[name] = float(np.corrcoef(vals, ref)[0, 1]) if vals.std() > 0 else 0.0
    best = max(scores, key=lambda k: scores[k])
    if best != "as_stated" and scores[best] > scores["as_stated"] + margin:
        what = "upside down (superior-inferior)" if best == "flip_si" else "front-back reversed"
        raise ImagingError(
            f"orientation looks wrong: the image fits the template better {what} "
            f"(correlation {scores[best]:.2f} vs {scores['as_stated']:.2f} as stated); "
            "check the DICOM/NIfTI orientation tags"
        )
    return scores


def _world(shape: tuple[int, ...], affine: FloatArray) -> FloatArray:
    ijk = np.indices(shape, dtype=np.float64).reshape(3, -1)
    return (affine[:3, :3] @ ijk + affine[:3, 3:4]).T.reshape(*shape, 3)


def check_registration(r: float, matrix: FloatArray, minimum: float) -> None:
    """Refuse when the registered study does not look like the template or the scale is absurd."""
    sv = np.linalg.svd(matrix[:3, :3], compute_uv=False)
    if sv.min() < 0.4 or sv.max() > 1.6 or np.linalg.det(matrix[:3, :3]) <= 0:
        raise ImagingError(
            f"registration failed: implausible head size/shape (scale factors "
            f"{', '.join(f'{s:.2f}' for s in sv)} relative to the adult template)"
        )
    if r < minimum:
        raise ImagingError(
            f"registration failed: correlation with the template {r:.2f} is below {minimum:.2f}; "
            "is this a brain study of the stated kind?"
        )


def check_fov(
    moving: Volume, matrix: FloatArray, region: BoolArray, grid_affine: FloatArray, minimum: float
) -> float:
    """Fraction of ``region`` (template grid) that falls inside the study's field of view."""
    pts = np.c_[np.argwhere(region).astype(np.float64), np.ones(int(region.sum()))].T
    ijk = (np.linalg.inv(moving.affine) @ matrix @ grid_affine @ pts)[:3]
    hi = np.asarray(moving.data.shape, dtype=np.float64)[:, None] - 1
    inside = float(np.all((ijk >= 0) & (ijk <= hi), axis=0).mean())
    if inside < minimum:
        raise ImagingError(
            f"the field of view misses the cerebellum: only {inside:.0%} of it is inside the "
            f"image (at least {minimum:.0%} needed)"
        )
    return inside


def check_counts(data: FloatArray, minimum: float, warn: float) -> tuple[float, str | None]:
    """Total counts; refuse below ``minimum``, warn below ``warn``."""
    total = float(np.clip(data, 0, None).sum())
    if total < minimum:
        raise ImagingError(
            f"too few counts: {total:.3g} in the whole study (at least {minimum:.3g} needed)"
        )
    note = (
        f"low counts: {total:.3g} (below {warn:.3g}); expect noisy ratios" if total < warn else None
    )
    return total, note
