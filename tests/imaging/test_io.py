from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omscds.errors import ImagingError, InputError
from omscds.imaging import read_image, write_nifti
from omscds.imaging.dicom import write_nm
from omscds.imaging.register import resample_to
from omscds.imaging.volume import Volume

from .conftest import small_phantom

READABLE = [
    ("standard", "RAS"),
    ("negative_spacing", "RAI"),
    ("slice_thickness_only", "RAS"),
    ("top_level_geometry", "RAS"),
    ("lr_flip", "LAS"),
    ("rescale", "RAS"),
]


@pytest.fixture(scope="module")
def vol() -> Volume:
    return small_phantom(seed=5, shape=(24, 28, 32)).volume


@pytest.mark.parametrize(("variant", "codes"), READABLE)
def test_dicom_geometry_variants_read_right(
    tmp_path: Path, vol: Volume, variant: str, codes: str
) -> None:
    back = read_image(write_nm(vol, tmp_path / f"{variant}.dcm", variant))  # type: ignore[arg-type]
    assert back.meta["orientation"] == codes
    # the same voxel values at the same world positions, whatever the stacking
    same = resample_to(back, vol.data.shape, vol.affine, np.eye(4), order=0)
    assert np.array_equal(same, vol.data)
    if variant == "slice_thickness_only":
        assert any("Slice Thickness" in w for w in back.meta["warnings"])


def test_dicom_folder_with_one_file(tmp_path: Path, vol: Volume) -> None:
    write_nm(vol, tmp_path / "study" / "a.dcm")
    assert read_image(tmp_path / "study").data.shape == vol.data.shape


def test_missing_geometry_is_refused(tmp_path: Path, vol: Volume) -> None:
    p = write_nm(vol, tmp_path / "x.dcm", "no_geometry")
    with pytest.raises(ImagingError, match="orientation and position are unknown"):
        read_image(p)


def test_nifti_roundtrip_and_no_orientation(tmp_path: Path, vol: Volume) -> None:
    import nibabel as nib

    back = read_image(write_nifti(vol, tmp_path / "a.nii.gz"))
    assert np.array_equal(back.data, vol.data)
    assert np.allclose(back.affine, vol.affine)
    img = nib.Nifti1Image(vol.data.astype(np.float32), None)
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    nib.save(img, tmp_path / "bare.nii")
    with pytest.raises(ImagingError, match="no orientation"):
        read_image(tmp_path / "bare.nii")


@pytest.mark.parametrize(
    ("name", "content", "err", "match"),
    [
        ("broken.nii.gz", b"\x1f\x8b not really gzip", ImagingError, "NIfTI"),
        ("broken.dcm", b"\0" * 128 + b"DICM" + b"\x02\x00garbage", ImagingError, "DICOM"),
        ("notes.txt", b"hello", ImagingError, "not a NIfTI"),
    ],
)
def test_broken_files_give_clear_errors(
    tmp_path: Path, name: str, content: bytes, err: type[Exception], match: str
) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(err, match=match):
        read_image(p)


def test_missing_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such"):
        read_image(tmp_path / "nope.nii.gz")
