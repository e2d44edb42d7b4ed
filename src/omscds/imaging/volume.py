"""A 3-D image with its geometry: voxel array indexed (i, j, k) and a 4x4 affine to RAS+ mm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError

__all__ = ["Volume", "nib", "orientation_codes", "sitk", "to_sitk"]

FloatArray = NDArray[np.float64]


def sitk() -> Any:
    """SimpleITK, imported lazily and typed loosely (its wrappers are untyped)."""
    import SimpleITK

    return SimpleITK


def nib() -> Any:
    """nibabel, imported lazily and typed loosely."""
    import nibabel

    return nibabel


@dataclass(frozen=True, eq=False)
class Volume:
    """Voxel data (float64, indexed i, j, k) and the affine mapping (i, j, k, 1) to RAS+ mm."""

    data: FloatArray
    affine: FloatArray
    #: where it came from and what the reader noticed (format, warnings, tags)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise ImagingError(f"expected a 3-D image, got {self.data.ndim} dimensions")
        if self.affine.shape != (4, 4) or not np.all(np.isfinite(self.affine)):
            raise ImagingError("image geometry (affine) is missing or not finite")
        if abs(float(np.linalg.det(self.affine[:3, :3]))) < 1e-9:
            raise ImagingError("image geometry is degenerate (zero voxel size)")

    @property
    def spacing(self) -> tuple[float, float, float]:
        return affine_spacing(self.affine)

    @property
    def voxel_ml(self) -> float:
        return affine_voxel_ml(self.affine)

    @property
    def warnings(self) -> list[str]:
        w = self.meta.setdefault("warnings", [])
        assert isinstance(w, list)
        return w


def affine_spacing(affine: FloatArray) -> tuple[float, float, float]:
    """Voxel size in mm along each array axis.

    >>> affine_spacing(np.diag([2.0, 3.0, 4.0, 1.0]))
    (2.0, 3.0, 4.0)
    """
    z = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    return (float(z[0]), float(z[1]), float(z[2]))


def affine_voxel_ml(affine: FloatArray) -> float:
    """Voxel volume in millilitres.

    >>> round(affine_voxel_ml(np.diag([10.0, 10.0, 10.0, 1.0])), 9)
    1.0
    """
    return float(abs(np.linalg.det(affine[:3, :3]))) / 1000.0


def orientation_codes(affine: FloatArray) -> str:
    """Three letters naming where each voxel axis points (nibabel's convention).

    >>> orientation_codes(np.diag([2.0, 2.0, 2.0, 1.0]))
    'RAS'
    >>> orientation_codes(np.diag([-2.0, 2.0, -2.0, 1.0]))
    'LAI'
    """
    return "".join(str(c) for c in nib().orientations.aff2axcodes(affine))


def to_sitk(data: FloatArray, affine: FloatArray) -> Any:
    """A SimpleITK image in the same (RAS) world frame as ``affine``.

    ITK is indifferent to the handedness of the world frame as long as fixed and moving images
    share it, so RAS coordinates are used throughout. Shear cannot be represented: refuse it.
    """
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    direction = affine[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
        raise ImagingError("image geometry has shear; cannot register it (resample it first)")
    img = sitk().GetImageFromArray(np.ascontiguousarray(data.transpose(2, 1, 0), dtype=np.float32))
    img.SetSpacing([float(s) for s in spacing])
    img.SetOrigin([float(o) for o in affine[:3, 3]])
    img.SetDirection([float(d) for d in direction.ravel()])
    return img
