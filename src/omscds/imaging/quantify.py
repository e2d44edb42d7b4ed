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
    "otsu_threshold",
    "region_means",
    "spect_ratios",
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


def otsu_threshold(values: FloatArray, bins: int = 128) -> float:
    """Otsu's threshold (maximal between-class variance) of a 1-D sample.

    >>> round(otsu_threshold(np.r_[np.zeros(50), np.ones(50)]), 2)
    0.5
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0 or float(v.max()) == float(v.min()):
        raise ImagingError("cannot separate tissue from fluid: the image is flat")
    hist, edges = np.histogram(v, bins=bins)
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * mids) / np.maximum(w0, 1)
    m1 = (np.sum(hist * mids) - np.cumsum(hist * mids)) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    k = int(np.argmax(between[:-1]))
    return float(edges[k + 1])


def tissue_volumes(
    image: FloatArray,
    brain: BoolArray,
    cerebellum_search: BoolArray,
    voxel_ml: float,
) -> dict[str, float]:
    """Brain and cerebellar tissue volume (ml) by an Otsu tissue/fluid split inside ``brain``.

    ``voxel_ml`` is the study-space volume of one grid voxel (grid voxel x Jacobian).
    """
    thr = otsu_threshold(image[brain])
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
