"""Pure quantification on numpy arrays: region means, ratios, asymmetry, voxel z-maps, volumes.

No files, no clock, no globals: arrays in, numbers out (nibabel style).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError

__all__ = [
    "asymmetry_index",
    "region_means",
    "spect_ratios",
    "tissue_threshold",
    "tissue_volumes",
    "voxel_zmap",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def region_means(image: FloatArray, regions: Mapping[str, BoolArray]) -> dict[str, float]:
    """Mean of ``image`` inside each region mask.

    >>> img = np.arange(4.0).reshape(2, 2, 1)
    >>> region_means(img, {"a": img > 1})
    {'a': 2.5}
    """
    out: dict[str, float] = {}
    for name, mask in regions.items():
        if not mask.any():
            raise ImagingError(f"region {name!r} is empty")
        out[name] = float(image[mask].mean())
    return out


def asymmetry_index(left: float, right: float) -> float:
    """Asymmetry index in percent, 200 (L - R) / (L + R); positive when left is higher.

    >>> asymmetry_index(110.0, 90.0)
    20.0
    """
    total = left + right
    if total <= 0:
        raise ImagingError("asymmetry undefined: no uptake in the cerebellum")
    return 200.0 * (left - right) / total


def spect_ratios(means: Mapping[str, float]) -> dict[str, float]:
    """Cerebellar ratios to supratentorial references; the cerebellum is never the reference.

    >>> r = spect_ratios({"cerebellum": 0.7, "cerebellum_core": 0.72, "cortex": 1.0,
    ...                   "thalamus": 0.9, "cerebellum_left": 0.7, "cerebellum_right": 0.7})
    >>> r["cerebellum_to_cortex"], r["asymmetry_index_percent"]
    (0.7, 0.0)
    """
    ctx, thal = means["cortex"], means["thalamus"]
    if ctx <= 0 or thal <= 0:
        raise ImagingError("no uptake in the reference regions (cortex or thalamus)")
    return {
        "cerebellum_to_cortex": means["cerebellum"] / ctx,
        "cerebellum_core_to_cortex": means["cerebellum_core"] / ctx,
        "cerebellum_to_thalamus": means["cerebellum"] / thal,
        "asymmetry_index_percent": asymmetry_index(
            means["cerebellum_left"], means["cerebellum_right"]
        ),
    }


def voxel_zmap(
    observed: FloatArray,
    expected: FloatArray,
    reference: BoolArray,
    sd_fraction: float,
    mask: BoolArray,
) -> FloatArray:
    """eZIS-like voxel z-map: both images scaled to their mean in ``reference`` (the cortex),
    z = (expected - observed) / (sd_fraction * expected); positive = reduced uptake; 0 outside.

    >>> o = np.array([[[0.7, 1.0]]]); e = np.ones((1, 1, 2)); ref = np.array([[[False, True]]])
    >>> voxel_zmap(o, e, ref, 0.1, np.ones((1, 1, 2), bool)).round(6).tolist()
    [[[3.0, 0.0]]]
    """
    if sd_fraction <= 0:
        raise ImagingError("voxel z-map needs a positive SD fraction")
    o = observed / float(observed[reference].mean())
    e = expected / float(expected[reference].mean())
    z = np.zeros_like(o)
    ok = mask & (e > 0.05)
    z[ok] = (e[ok] - o[ok]) / (sd_fraction * e[ok])
    return z


def tissue_threshold(values: FloatArray, fraction: float = 0.55) -> float:
    """Tissue/fluid threshold of a T1 brain: ``fraction`` x the 90th percentile (white matter).

    In T1, grey matter is about 0.65-0.8 and CSF below 0.35 of white-matter intensity, so 0.55
    separates tissue from fluid independently of how much fluid there is (Otsu's method on a
    skull-stripped brain splits grey from white matter instead).

    >>> tissue_threshold(np.r_[np.full(10, 0.2), np.full(90, 1.0)])
    0.55
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or float(v.max()) <= 0:
        raise ImagingError("cannot separate tissue from fluid: the image is empty")
    return float(fraction * np.percentile(v, 90))


def tissue_volumes(
    image: FloatArray,
    brain: BoolArray,
    cerebellum_search: BoolArray,
    voxel_ml: float,
) -> dict[str, float]:
    """Brain and cerebellar tissue volume (ml) by a tissue/fluid threshold inside ``brain``.

    ``voxel_ml`` is the study-space volume of one grid voxel (grid voxel x Jacobian).
    """
    thr = tissue_threshold(image[brain])
    tissue = brain & (image > thr)
    brain_ml = float(tissue.sum()) * voxel_ml
    cb_ml = float((tissue & cerebellum_search).sum()) * voxel_ml
    if brain_ml <= 0:
        raise ImagingError("no brain tissue found")
    return {
        "brain_tissue_ml": brain_ml,
        "cerebellar_volume_ml": cb_ml,
        "cerebellum_to_brain": cb_ml / brain_ml,
    }
