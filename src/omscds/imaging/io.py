"""The I/O shell: read a study from NIfTI or DICOM into a :class:`Volume`, write NIfTI.

Geometry is taken from the header with sanity checks; a header without orientation is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from omscds.errors import ImagingError, InputError
from omscds.imaging.dicom import read_dicom
from omscds.imaging.volume import Volume, nib, orientation_codes

__all__ = ["read_image", "write_nifti"]

_NIFTI = (".nii", ".nii.gz")


def _read_nifti(path: Path) -> Volume:
    try:
        img = nib().load(str(path))
        data = np.asarray(img.get_fdata(dtype=np.float64))
    except Exception as exc:  # nibabel raises many types for broken files
        raise ImagingError(f"not a readable NIfTI file: {exc}", path=str(path)) from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ImagingError(f"expected one 3-D volume, got shape {data.shape}", path=str(path))
    if not np.all(np.isfinite(data)):
        raise ImagingError("the image holds NaN or infinite values", path=str(path))
    hdr = img.header
    qcode, scode = int(hdr["qform_code"]), int(hdr["sform_code"])
    if qcode == 0 and scode == 0:
        raise ImagingError(
            "the NIfTI header has no orientation (qform and sform codes are 0); "
            "left/right and up/down cannot be trusted",
            path=str(path),
        )
    zooms = np.asarray(hdr.get_zooms()[:3], dtype=np.float64)
    if np.any(zooms <= 0) or not np.all(np.isfinite(zooms)):
        raise ImagingError(f"voxel sizes must be positive, got {zooms.tolist()}", path=str(path))
    affine = np.asarray(img.affine, dtype=np.float64)
    return Volume(data=data, affine=affine, meta={"format": "nifti", "warnings": []})


def read_image(path: Path | str) -> Volume:
    """Read a NIfTI file, a DICOM file or a DICOM folder; raise a clear error otherwise."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file or folder: {p}", path=str(p))
    name = p.name.lower()
    if p.is_file() and name.endswith(_NIFTI):
        vol = _read_nifti(p)
    elif p.is_dir() or name.endswith((".dcm", ".ima")) or _looks_dicom(p):
        vol = read_dicom(p)
    else:
        raise ImagingError("not a NIfTI (.nii, .nii.gz) or DICOM file", path=str(p))
    if min(vol.data.shape) < 8:
        raise ImagingError(f"image too small for brain analysis: {vol.data.shape}", path=str(p))
    vol.meta["path"] = str(p)
    vol.meta["orientation"] = orientation_codes(vol.affine)
    return vol


def _looks_dicom(p: Path) -> bool:
    try:
        with p.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def write_nifti(volume: Volume, path: Path | str) -> Path:
    """Write ``volume`` as NIfTI-1 with both qform and sform set (scanner space)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = volume.data
    if np.allclose(data, np.rint(data)) and data.min() >= 0 and data.max() < 65535:
        arr = data.astype(np.uint16)
    else:
        arr = data.astype(np.float32)
    img = nib().Nifti1Image(arr, volume.affine)
    img.set_qform(volume.affine, code=1)
    img.set_sform(volume.affine, code=1)
    img.header.set_xyzt_units("mm")
    nib().save(img, str(out))
    return out
