"""Regions of interest on the template grid, generated in code (no atlas with restrictive terms).

Cerebellum: two ellipsoids (one per hemisphere) intersected with the brain mask; thalamus: two
ellipsoids; supratentorial cortex: grey matter > 0.5 above z = -30 mm minus dilated cerebellum and
thalamus. Centroids and axes are moments of the AAL labels in MNI mm (imaging-notes §3.4);
the ellipsoid radius is sqrt(5) x SD, the radius of a uniform ellipsoid with that SD.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from omscds.imaging.template import Template, load_template

__all__ = ["REGION_NAMES", "Regions", "ellipsoid", "make_regions", "template_regions"]

BoolArray = NDArray[np.bool_]

#: (centre mm, SD axes mm) in MNI space, measured from AAL label moments (imaging-notes §3.4)
_CEREBELLUM_L = ((-25.1, -59.5, -32.9), (11.1, 14.3, 16.3))
_CEREBELLUM_R = ((24.7, -59.4, -33.7), (11.7, 14.5, 17.1))
_THALAMUS_L = ((-11.8, -17.7, 8.2), (4.8, 5.6, 7.1))
_THALAMUS_R = ((11.9, -17.7, 8.2), (4.8, 5.6, 7.1))
_CORTEX_MIN_Z_MM = -30.0

REGION_NAMES = (
    "brain",
    "cerebellum",
    "cerebellum_core",
    "cerebellum_left",
    "cerebellum_right",
    "cortex",
    "thalamus",
)


@dataclass(frozen=True, eq=False)
class Regions:
    """Boolean masks on the template grid."""

    brain: BoolArray
    cerebellum: BoolArray
    cerebellum_left: BoolArray
    cerebellum_right: BoolArray
    cerebellum_core: BoolArray
    thalamus: BoolArray
    cortex: BoolArray
    #: where cerebellar tissue may lie (for MRI volumetry): the cerebellum dilated by 2 voxels
    infratentorial: BoolArray

    def as_dict(self) -> dict[str, BoolArray]:
        return {name: getattr(self, name) for name in REGION_NAMES}


def ellipsoid(
    world: NDArray[np.float64], centre: tuple[float, ...], sd: tuple[float, ...]
) -> BoolArray:
    """Voxels inside the uniform ellipsoid with these SDs (radius sqrt(5)*SD per axis).

    >>> w = np.zeros((3, 1, 1, 3)); w[1, 0, 0] = (0.0, 0.0, 0.0); w[2, 0, 0] = (50.0, 0, 0)
    >>> ellipsoid(w, (0.0, 0.0, 0.0), (10.0, 10.0, 10.0)).ravel().tolist()
    [True, True, False]
    """
    c = np.asarray(centre, dtype=np.float64)
    r = np.sqrt(5.0) * np.asarray(sd, dtype=np.float64)
    d = ((world - c) / r) ** 2
    out: BoolArray = d.sum(axis=-1) <= 1.0
    return out


def make_regions(template: Template) -> Regions:
    """Build every region mask for ``template``."""
    from scipy.ndimage import binary_dilation, binary_erosion

    world = template.world()
    brain = np.asarray(template.mask, dtype=bool)
    tissue = brain & ((template.gm + template.wm) > 0.3)
    cb_l = ellipsoid(world, *_CEREBELLUM_L) & tissue
    cb_r = ellipsoid(world, *_CEREBELLUM_R) & tissue
    # the two ellipsoids overlap at the vermis: split by the midline
    x = world[..., 0]
    cb_l &= x < 0
    cb_r &= x >= 0
    cerebellum = cb_l | cb_r
    thalamus = (ellipsoid(world, *_THALAMUS_L) | ellipsoid(world, *_THALAMUS_R)) & brain
    cortex = (template.gm > 0.5) & brain & (world[..., 2] > _CORTEX_MIN_Z_MM)
    cortex &= ~binary_dilation(cerebellum, iterations=3)
    cortex &= ~binary_dilation(thalamus, iterations=2)
    core = binary_erosion(cerebellum, iterations=2)
    infra = binary_dilation(cerebellum, iterations=2) & brain
    return Regions(
        brain=brain,
        cerebellum=cerebellum,
        cerebellum_left=cb_l,
        cerebellum_right=cb_r,
        cerebellum_core=core,
        thalamus=thalamus,
        cortex=cortex,
        infratentorial=infra,
    )


@lru_cache(maxsize=1)
def template_regions() -> Regions:
    """Regions of the shipped template, built once per process."""
    return make_regions(load_template())
