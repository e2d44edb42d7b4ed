from __future__ import annotations

import numpy as np
import pytest

from omscds.errors import ImagingError
from omscds.imaging.quantify import (
    asymmetry_index,
    region_means,
    spect_ratios,
    tissue_volumes,
    voxel_zmap,
)


def _means(cb: float, left: float | None = None, right: float | None = None) -> dict[str, float]:
    return {
        "cerebellum": cb,
        "cerebellum_core": cb,
        "cerebellum_left": cb if left is None else left,
        "cerebellum_right": cb if right is None else right,
        "cortex": 2.0,
        "thalamus": 4.0,
    }


@pytest.mark.parametrize("cb", [0.5, 1.0, 2.4])
def test_ratios_use_supratentorial_references(cb: float) -> None:
    r = spect_ratios(_means(cb))
    assert r["cerebellum_to_cortex"] == pytest.approx(cb / 2.0)
    assert r["cerebellum_to_thalamus"] == pytest.approx(cb / 4.0)


def test_asymmetry_sign_and_zero() -> None:
    assert asymmetry_index(1.0, 1.0) == 0
    assert asymmetry_index(1.2, 0.8) == pytest.approx(40.0)
    assert asymmetry_index(0.8, 1.2) == pytest.approx(-40.0)
    with pytest.raises(ImagingError):
        asymmetry_index(0.0, 0.0)


def test_region_means_and_empty_region() -> None:
    img = np.arange(8.0).reshape(2, 2, 2)
    assert region_means(img, {"a": img >= 4})["a"] == 5.5
    with pytest.raises(ImagingError, match="empty"):
        region_means(img, {"a": img > 100})


def test_zmap_positive_where_reduced() -> None:
    expected = np.ones((4, 4, 4))
    observed = expected.copy()
    observed[0] = 0.7
    ref = np.zeros_like(expected, dtype=bool)
    ref[2:] = True
    z = voxel_zmap(observed, expected, ref, 0.1, np.ones_like(ref))
    assert z[0].mean() == pytest.approx(3.0)
    assert np.allclose(z[2:], 0)


def test_tissue_volumes_track_removed_tissue() -> None:
    rng = np.random.default_rng(0)
    img = rng.normal(1.0, 0.02, (20, 20, 20))
    brain = np.ones(img.shape, bool)
    search = np.zeros_like(brain)
    search[:5] = True
    full = tissue_volumes(img, brain, search, 0.008)
    img[:2] = 0.1  # atrophy: two slabs become fluid
    less = tissue_volumes(img, brain, search, 0.008)
    assert full["cerebellar_volume_ml"] == pytest.approx(2000 * 0.008)
    assert less["cerebellar_volume_ml"] == pytest.approx(1200 * 0.008)
    assert less["cerebellum_to_brain"] < full["cerebellum_to_brain"]
