from __future__ import annotations

import numpy as np
import pytest

from omscds.errors import ImagingError
from omscds.imaging import qc
from omscds.imaging.regions import template_regions
from omscds.imaging.template import load_template
from omscds.imaging.volume import Volume


def _crop_bottom(v: Volume, n: int) -> Volume:
    aff = v.affine.copy()
    aff[:3, 3] += aff[:3, 2] * n
    return Volume(v.data[:, :, n:].copy(), aff)


def test_fov_check_uses_the_true_transform(normal_spect) -> None:  # type: ignore[no-untyped-def]
    tpl, reg = load_template(), template_regions()
    v, m = normal_spect.volume, normal_spect.true_matrix
    assert qc.check_fov(v, m, reg.cerebellum, tpl.affine, 0.9) == pytest.approx(1.0)
    with pytest.raises(ImagingError, match="field of view misses the cerebellum"):
        qc.check_fov(_crop_bottom(v, 22), m, reg.cerebellum, tpl.affine, 0.9)


def test_orientation_scores_prefer_the_truth(normal_spect) -> None:  # type: ignore[no-untyped-def]
    from omscds.imaging.template import perfusion_image

    tpl = load_template()
    ref = perfusion_image(tpl)
    scores = qc.check_orientation(normal_spect.volume, ref, tpl.affine, tpl.mask, 0.05)
    assert scores["as_stated"] > scores["flip_si"] + 0.2
    v = normal_spect.volume
    flipped = Volume(v.data[:, ::-1, :].copy(), v.affine)  # front-back reversed voxels
    with pytest.raises(ImagingError, match="front-back"):
        qc.check_orientation(flipped, ref, tpl.affine, tpl.mask, 0.05)


def test_counts_refuse_and_warn() -> None:
    data = np.full((10, 10, 10), 50.0)  # 5e4 counts
    with pytest.raises(ImagingError, match="too few counts"):
        qc.check_counts(data, 1e5, 1e6)
    total, note = qc.check_counts(data * 10, 1e5, 1e6)
    assert total == 5e5 and note and "low counts" in note
    assert qc.check_counts(data * 100, 1e5, 1e6)[1] is None


@pytest.mark.parametrize(
    ("scale", "corr", "match"),
    [(1.0, 0.3, "correlation"), (0.2, 0.9, "implausible"), (-0.8, 0.9, "implausible")],
)
def test_registration_refusals(scale: float, corr: float, match: str) -> None:
    m = np.diag([scale, abs(scale), abs(scale), 1.0])
    with pytest.raises(ImagingError, match=match):
        qc.check_registration(corr, m, 0.6)
    qc.check_registration(0.9, np.diag([0.85, 0.85, 0.85, 1.0]), 0.6)
