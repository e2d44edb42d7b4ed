"""NM multi-frame DICOM (and single-frame series) read and write with explicit geometry checks.

Geometry comes from the tags, never from guesses: ImageOrientationPatient / ImagePositionPatient
from the Detector Information Sequence (0054,0022) of an NM RECON TOMO image (or the top level),
Pixel Spacing, and the *signed* Spacing Between Slices (its sign sets the stacking direction,
DICOM C.8.4.15). Missing positions or spacing are errors, not identity defaults (imaging-notes §7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError
from omscds.imaging.volume import Volume

__all__ = ["VARIANTS", "read_dicom", "write_nm"]

FloatArray = NDArray[np.float64]
Variant = Literal[
    "standard",
    "negative_spacing",
    "slice_thickness_only",
    "top_level_geometry",
    "lr_flip",
    "rescale",
    "no_geometry",
]
VARIANTS: tuple[str, ...] = Variant.__args__  # type: ignore[attr-defined]
_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])  # DICOM patient (LPS) <-> RAS


def _floats(value: Any, n: int, what: str, where: str) -> FloatArray:
    try:
        arr = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        raise ImagingError(f"{what} is not numeric", path=where) from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise ImagingError(f"{what} must hold {n} finite numbers", path=where)
    return arr


def _geometry_item(ds: Any) -> Any:
    seq = ds.get("DetectorInformationSequence")
    if seq:
        item = seq[0]
        if "ImageOrientationPatient" in item and "ImagePositionPatient" in item:
            return item
    if "ImageOrientationPatient" in ds and "ImagePositionPatient" in ds:
        return ds
    return None


def _pixels(ds: Any, where: str) -> FloatArray:
    try:
        arr = np.asarray(ds.pixel_array, dtype=np.float64)
    except Exception as exc:  # pydicom raises many types for broken pixel data
        raise ImagingError(f"cannot decode pixel data: {exc}", path=where) from None
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    if not np.isfinite(slope) or slope <= 0:
        raise ImagingError(f"Rescale Slope must be positive, got {slope}", path=where)
    return arr * slope + intercept


def _affine(item: Any, ds: Any, dz: float, where: str) -> FloatArray:
    iop = _floats(item.ImageOrientationPatient, 6, "Image Orientation (Patient)", where)
    ipp = _floats(item.ImagePositionPatient, 3, "Image Position (Patient)", where)
    if "PixelSpacing" not in ds:
        raise ImagingError("Pixel Spacing (0028,0030) is missing", path=where)
    dr, dc = _floats(ds.PixelSpacing, 2, "Pixel Spacing", where)
    x, y = iop[:3], iop[3:]
    if abs(np.linalg.norm(x) - 1) > 1e-3 or abs(np.linalg.norm(y) - 1) > 1e-3 or abs(x @ y) > 1e-3:
        raise ImagingError("Image Orientation (Patient) is not two orthonormal vectors", path=where)
    if dr <= 0 or dc <= 0:
        raise ImagingError("Pixel Spacing must be positive", path=where)
    a = np.eye(4)
    a[:3, 0] = x * dc
    a[:3, 1] = y * dr
    a[:3, 2] = np.cross(x, y) * dz
    a[:3, 3] = ipp
    return _LPS @ a


def _read_multiframe(ds: Any, where: str) -> Volume:
    warnings: list[str] = []
    item = _geometry_item(ds)
    if item is None:
        raise ImagingError(
            "no Image Position/Orientation (Patient) in the Detector Information Sequence or the "
            "dataset: the image's orientation and position are unknown",
            path=where,
        )
    if "SpacingBetweenSlices" in ds and ds.SpacingBetweenSlices not in (None, ""):
        dz = float(ds.SpacingBetweenSlices)
    elif "SliceThickness" in ds and ds.SliceThickness not in (None, ""):
        dz = float(ds.SliceThickness)
        warnings.append("Spacing Between Slices missing: used Slice Thickness for slice spacing")
    else:
        raise ImagingError(
            "neither Spacing Between Slices (0018,0088) nor Slice Thickness is present", path=where
        )
    if dz == 0 or not np.isfinite(dz):
        raise ImagingError("slice spacing is zero", path=where)
    px = _pixels(ds, where)
    if px.ndim == 2:
        px = px[None]
    data = px.transpose(2, 1, 0)  # (frames, rows, cols) -> (i=col, j=row, k=frame)
    meta = {"format": "dicom", "modality": str(ds.get("Modality", "")), "warnings": warnings}
    return Volume(data=np.ascontiguousarray(data), affine=_affine(item, ds, dz, where), meta=meta)


def _read_series(datasets: list[Any], where: str) -> Volume:
    item0 = _geometry_item(datasets[0])
    if item0 is None:
        raise ImagingError("slices lack Image Position/Orientation (Patient)", path=where)
    iop = _floats(item0.ImageOrientationPatient, 6, "Image Orientation (Patient)", where)
    normal = np.cross(iop[:3], iop[3:])
    pos = []
    for ds in datasets:
        it = _geometry_item(ds)
        if it is None:
            raise ImagingError("a slice lacks Image Position (Patient)", path=where)
        pos.append(float(_floats(it.ImagePositionPatient, 3, "Image Position", where) @ normal))
    order = np.argsort(pos)
    steps = np.diff(np.asarray(pos)[order])
    if len(steps) and (steps.min() <= 0 or steps.max() - steps.min() > 0.01 * steps.mean()):
        raise ImagingError("slices are duplicated or unevenly spaced", path=where)
    first = datasets[int(order[0])]
    dz = float(steps.mean()) if len(steps) else float(first.get("SliceThickness", 1.0))
    data = np.stack([_pixels(datasets[int(i)], where) for i in order], axis=0).transpose(2, 1, 0)
    meta = {"format": "dicom", "modality": str(first.get("Modality", "")), "warnings": []}
    item = _geometry_item(first)
    return Volume(np.ascontiguousarray(data), _affine(item, first, dz, where), meta)


def read_dicom(path: Path) -> Volume:
    """Read one multi-frame file, or a folder holding one multi-frame file or one series."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    datasets = []
    for f in files:
        try:
            datasets.append(pydicom.dcmread(f))
        except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError) as exc:
            if not path.is_dir():
                raise ImagingError(f"not a readable DICOM file: {exc}", path=str(f)) from None
    if not datasets:
        raise ImagingError("no DICOM files found", path=str(path))
    if "PixelData" not in datasets[0]:
        raise ImagingError("the DICOM file holds no pixel data", path=str(files[0]))
    multi = [d for d in datasets if int(d.get("NumberOfFrames", 1) or 1) > 1]
    if len(multi) > 1:
        raise ImagingError(
            f"{len(multi)} multi-frame images in one folder; give one", path=str(path)
        )
    if multi:
        return _read_multiframe(multi[0], str(path))
    if len(datasets) == 1:
        return _read_multiframe(datasets[0], str(path))
    return _read_series(datasets, str(path))


def write_nm(volume: Volume, path: Path | str, variant: Variant = "standard") -> Path:
    """Write ``volume`` as an NM multi-frame (RECON TOMO) file in one of the geometry variants."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    if variant not in VARIANTS:
        raise ImagingError(f"unknown DICOM variant {variant!r}; one of {', '.join(VARIANTS)}")
    a = _LPS @ volume.affine
    sp = np.sqrt((a[:3, :3] ** 2).sum(axis=0))
    x, y, n = (a[:3, i] / sp[i] for i in range(3))
    data = np.asarray(volume.data, dtype=np.float64)
    dz = float(sp[2]) if np.dot(np.cross(x, y), n) > 0 else -float(sp[2])
    ipp = a[:3, 3].copy()
    if variant == "lr_flip":
        data = data[::-1]
        ipp = ipp + (data.shape[0] - 1) * sp[0] * x
        x = -x
        dz = -dz  # the cross product flips with x; keep the slices where they were
    if variant == "negative_spacing":
        data = data[:, :, ::-1]
        ipp = ipp + (data.shape[2] - 1) * dz * np.cross(x, y)
        dz = -dz
    slope = 1.0
    peak = float(data.max()) if data.size else 0.0
    if variant == "rescale":
        slope = 0.25
    elif peak > 65535:
        slope = peak / 65535
    stored = np.clip(np.rint(data / slope), 0, 65535).astype(np.uint16)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.20")  # NM Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "NM"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    ds.PatientName = "PHANTOM^SYNTHETIC"
    ds.PatientID = "PHANTOM"
    ds.Rows, ds.Columns = int(stored.shape[1]), int(stored.shape[0])
    ds.NumberOfFrames = int(stored.shape[2])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelSpacing = [float(sp[1]), float(sp[0])]
    ds.SliceThickness = float(sp[2])
    if variant != "slice_thickness_only":
        ds.SpacingBetweenSlices = dz
    elif dz < 0:
        raise ImagingError("slice_thickness_only cannot express a reversed stack")
    if slope != 1.0:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = 0.0
    geo = Dataset()
    geo.ImageOrientationPatient = [round(float(v), 8) for v in (*x, *y)]
    geo.ImagePositionPatient = [round(float(v), 6) for v in ipp]
    if variant == "top_level_geometry":
        ds.ImageOrientationPatient = geo.ImageOrientationPatient
        ds.ImagePositionPatient = geo.ImagePositionPatient
    elif variant != "no_geometry":
        ds.DetectorInformationSequence = pydicom.Sequence([geo])
    ds.PixelData = np.ascontiguousarray(stored.transpose(2, 1, 0)).tobytes()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out, enforce_file_format=True)
    return out
