"""The shipped 2 mm MNI ICBM152 2009 template (see ``data/NOTICE``) and a perfusion-like image.

The files are generated once by ``tools/make_imaging_template.py``; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError
from omscds.imaging.volume import affine_spacing, affine_voxel_ml, nib

__all__ = ["DATA_DIR", "Template", "load_template", "perfusion_image"]

DATA_DIR = Path(__file__).parent / "data"
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Template:
    """Template images on one 2 mm grid in MNI space (RAS+, mm). Arrays are read-only."""

    affine: FloatArray
    t1: FloatArray
    gm: FloatArray
    wm: FloatArray
    mask: NDArray[np.bool_]

    @property
    def shape(self) -> tuple[int, int, int]:
        s = self.mask.shape
        return (int(s[0]), int(s[1]), int(s[2]))

    @property
    def spacing(self) -> tuple[float, float, float]:
        return affine_spacing(self.affine)

    @property
    def voxel_ml(self) -> float:
        return affine_voxel_ml(self.affine)

    def world(self) -> FloatArray:
        """MNI mm coordinates of every voxel, shape (*shape, 3)."""
        ijk = np.indices(self.shape, dtype=np.float64).reshape(3, -1)
        xyz = self.affine[:3, :3] @ ijk + self.affine[:3, 3:4]
        return xyz.T.reshape(*self.shape, 3)


def _read(name: str) -> tuple[FloatArray, FloatArray]:
    path = DATA_DIR / f"icbm152_2mm_{name}.nii.gz"
    if not path.exists():
        raise ImagingError(
            f"shipped template file missing: {path.name} (run tools/make_imaging_template.py)"
        )
    img = nib().load(str(path))
    data = np.asarray(img.dataobj, dtype=np.float64)
    return data, np.asarray(img.affine, dtype=np.float64)


@lru_cache(maxsize=1)
def load_template() -> Template:
    """Load the shipped template (cached: the files are immutable package data)."""
    t1, affine = _read("t1")
    gm, _ = _read("gm")
    wm, _ = _read("wm")
    mask, _ = _read("mask")
    arrays = (t1 / 255.0, gm / 255.0, wm / 255.0)
    for a in arrays:
        a.setflags(write=False)
    m = mask > 0.5
    m.setflags(write=False)
    affine.setflags(write=False)
    return Template(affine=affine, t1=arrays[0], gm=arrays[1], wm=arrays[2], mask=m)


def perfusion_image(
    template: Template, fwhm_mm: float = 10.0, wm_weight: float = 0.25
) -> FloatArray:
    """A perfusion-like image: grey matter plus ``wm_weight`` x white matter, blurred.

    Grey:white activity 4:1 is the usual convention for brain perfusion phantoms; the blur
    matches a SPECT camera's resolution so mutual information sees similar structure.
    """
    from scipy.ndimage import gaussian_filter

    act = template.gm + wm_weight * template.wm
    sigma = [fwhm_mm / 2.3548 / s for s in template.spacing]
    out: FloatArray = gaussian_filter(act, sigma)
    return out
