"""File identity: the same acquisition in another format or order is one study; others are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from omscds.imaging import Volume, write_nifti
from omscds.imaging.dicom import write_nm
from omscds.imaging.identity import Signature, duplicates, of_volume, signature

from .conftest import small_phantom


def test_dicom_variants_of_one_image_match_its_nifti(tmp_path: Path) -> None:
    vol = small_phantom(seed=31).volume
    ref = signature(write_nifti(vol, tmp_path / "a.nii.gz"))
    assert ref is not None
    for variant in ("standard", "lr_flip", "negative_spacing", "rescale", "top_level_geometry"):
        sig = signature(write_nm(vol, tmp_path / f"a_{variant}.dcm", variant))  # type: ignore[arg-type]
        assert sig is not None and ref.same_as(sig), variant


def test_different_images_in_the_same_grid_differ() -> None:
    a = small_phantom(seed=32).volume
    b = small_phantom(seed=33).volume
    assert not of_volume(a).same_as(of_volume(b))
    # the same voxels one millimetre elsewhere are another acquisition
    moved = a.affine.copy()
    moved[0, 3] += 1.0
    assert not of_volume(a).same_as(of_volume(Volume(a.data, moved)))
    # 1% noise per voxel (a repeat scan's counting noise) is never merged
    rng = np.random.default_rng(0)
    noisy = a.data * (1 + 0.01 * rng.standard_normal(a.data.shape))
    assert not of_volume(a).same_as(of_volume(Volume(noisy, a.affine)))


def test_unreadable_studies_are_not_compared(tmp_path: Path) -> None:
    (tmp_path / "x.nii.gz").write_bytes(b"broken")
    assert signature(tmp_path / "x.nii.gz") is None
    sig = of_volume(small_phantom(seed=34).volume)
    assert duplicates([("a", (), None), ("b", (), sig), ("c", (), sig), ("d", ("mri",), sig)]) == {
        "c": "b"
    }
    assert Signature.from_dict(sig.to_dict()) == sig
