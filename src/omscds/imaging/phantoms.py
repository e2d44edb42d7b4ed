"""Synthetic child-sized SPECT and MRI studies built from the shipped template (imaging-notes §5.2).

A phantom is the template's tissue maps turned into tracer activity (grey:white 4:1) or T1
intensity, with controllable cerebellar deficit and rim atrophy, random inter-subject
variability, a random child-size affine (scale 0.78-0.92, +-10 degrees, +-10 mm), camera blur,
and Poisson counts. The true template->study transform is kept to score registration.

A normal phantom's cerebellar and thalamic activity is scaled so that its noise-free,
blurred cerebellum/cortex and cerebellum/thalamus ratios equal the knowledge base's normal means
for the phantom's age: phantoms follow the norms; they do not define them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from omscds.errors import InputError
from omscds.imaging.norms import ImagingNorms, default_norms
from omscds.imaging.regions import Regions, template_regions
from omscds.imaging.template import Template, load_template
from omscds.imaging.volume import Volume

__all__ = ["Phantom", "make_phantom"]

FloatArray = NDArray[np.float64]
Kind = Literal["spect", "mri"]

#: simulated inter-subject variability: cerebellum 4.8 % (inter-subject variability of 99mTc-ECD
#: uptake in 89 volunteers, Van Laere, imaging-notes §1.7), smooth field SD ~4 % (§5.2)
_CEREBELLUM_SD = 0.048
_THALAMUS_SD = 0.05
_FIELD_SD = 0.04
_WM_WEIGHT = 0.25


@dataclass(frozen=True, eq=False)
class Phantom:
    volume: Volume
    #: true template-mm -> study-mm transform (what registration should recover)
    true_matrix: FloatArray
    params: dict[str, Any] = field(default_factory=dict)


def _sigma(fwhm_mm: float, spacing: tuple[float, float, float]) -> list[float]:
    return [fwhm_mm / 2.3548 / s for s in spacing]


def _blurred_ratios(act: FloatArray, reg: Regions, sigma: list[float]) -> tuple[float, float]:
    from scipy.ndimage import gaussian_filter

    b = gaussian_filter(act, sigma)
    cb = float(b[reg.cerebellum].mean())
    return cb / float(b[reg.cortex].mean()), cb / float(b[reg.thalamus].mean())


@lru_cache(maxsize=16)
def _calibration(fwhm_t: float, cb_ctx: float, cb_thal: float) -> tuple[float, float]:
    """Multipliers for cerebellar and thalamic activity that reach the target ratios."""
    tpl = load_template()
    reg = template_regions()
    base = tpl.gm + _WM_WEIGHT * tpl.wm
    sigma = _sigma(fwhm_t, tpl.spacing)
    m_cb, m_th = 1.0, 1.0
    for _ in range(3):
        act = base * np.where(reg.infratentorial, m_cb, 1.0) * np.where(reg.thalamus, m_th, 1.0)
        r_ctx, r_thal = _blurred_ratios(act, reg, sigma)
        m_cb *= cb_ctx / r_ctx
        m_th *= r_thal / cb_thal
    return m_cb, m_th


def _random_matrix(rng: np.random.Generator, centre: FloatArray) -> FloatArray:
    """Template mm -> study mm: shrink to a child's head, rotate, shift."""
    scale = rng.uniform(0.78, 0.92) * rng.uniform(0.97, 1.03, size=3)
    angles = np.deg2rad(rng.uniform(-10, 10, size=3))
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    a = rz @ ry @ rx @ np.diag(scale)
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = rng.uniform(-10, 10, size=3) - a @ centre
    return m


def _atrophy(tissue: NDArray[np.bool_], infra: NDArray[np.bool_], mm: float, sp: float) -> Any:
    """Voxels of cerebellar tissue within ``mm`` of its surface (rim erosion)."""
    from scipy.ndimage import distance_transform_edt

    cb = tissue & infra
    if mm <= 0:
        return np.zeros_like(cb)
    dist = distance_transform_edt(cb, sampling=sp)
    return cb & (dist <= mm)


def make_phantom(
    kind: Kind = "spect",
    *,
    deficit: float = 0.0,
    atrophy_mm: float = 0.0,
    fwhm: float = 10.0,
    counts: float = 5e6,
    seed: int = 0,
    shape: tuple[int, int, int] = (128, 128, 128),
    spacing: float = 2.2,
    age_months: float = 24.0,
    unilateral: bool = False,
    norms: ImagingNorms | None = None,
) -> Phantom:
    """Build one synthetic study; deterministic for a ``seed``."""
    if not 0.0 <= deficit < 1.0:
        raise InputError(f"deficit must be in [0, 1), got {deficit}", path="deficit")
    if not 0.0 <= atrophy_mm <= 10.0:
        raise InputError(f"atrophy must be 0-10 mm, got {atrophy_mm}", path="atrophy_mm")
    if fwhm < 0 or spacing <= 0 or min(shape) < 16:
        raise InputError("fwhm must be >= 0, spacing > 0 and every dimension >= 16")
    if kind == "spect" and counts < 1:
        raise InputError(f"counts must be positive, got {counts}", path="counts")
    from scipy.ndimage import gaussian_filter, map_coordinates

    rng = np.random.default_rng(seed)
    tpl: Template = load_template()
    reg = template_regions()
    world = tpl.world()
    centre = world[tpl.mask].mean(axis=0)
    matrix = _random_matrix(rng, centre)
    head_scale = float(abs(np.linalg.det(matrix[:3, :3])) ** (1 / 3))
    tissue = (tpl.gm + tpl.wm) > 0.3
    rim = _atrophy(tissue, reg.infratentorial, atrophy_mm, tpl.spacing[0] * head_scale)
    gm = np.where(rim, 0.0, tpl.gm)
    wm = np.where(rim, 0.0, tpl.wm)

    if kind == "spect":
        norms = norms if norms is not None else default_norms()
        fwhm_t = fwhm / head_scale  # template-space distances are larger than the child's
        m_cb, m_th = _calibration(
            round(fwhm_t, 3),
            norms.row("cerebellum_to_cortex", age_months).mean,
            norms.row("cerebellum_to_thalamus", age_months).mean,
        )
        cb_factor = m_cb * (1 + _CEREBELLUM_SD * rng.standard_normal()) * (1 - deficit)
        th_factor = m_th * (1 + _THALAMUS_SD * rng.standard_normal())
        affected = reg.infratentorial & ((world[..., 0] < 0) if unilateral else True)
        act = (gm + _WM_WEIGHT * wm) * np.where(affected, cb_factor, 1.0)
        if unilateral:
            act *= np.where(reg.infratentorial & ~affected, m_cb, 1.0)
        act *= np.where(reg.thalamus, th_factor, 1.0)
        field_ = gaussian_filter(rng.standard_normal(tpl.shape), 12.0 / tpl.spacing[0])
        act *= 1 + _FIELD_SD * field_ / max(float(field_.std()), 1e-12)
        img = gaussian_filter(act, _sigma(fwhm_t, tpl.spacing)) if fwhm > 0 else act
    else:
        csf = 0.08
        img = np.where(rim, csf, tpl.t1)
        if fwhm > 0:
            img = gaussian_filter(img, _sigma(fwhm / head_scale, tpl.spacing))

    grid = np.diag([spacing, spacing, spacing, 1.0])
    grid[:3, 3] = -(np.asarray(shape) - 1) / 2.0 * spacing
    # study voxel -> study mm -> template mm -> template voxel
    vox = np.linalg.inv(tpl.affine) @ np.linalg.inv(matrix) @ grid
    ijk = np.indices(shape, dtype=np.float64).reshape(3, -1)
    coords = vox[:3, :3] @ ijk + vox[:3, 3:4]
    data = map_coordinates(img, coords, order=1, cval=0.0, prefilter=False).reshape(shape)
    data = np.clip(data, 0.0, None)
    if kind == "spect":
        data = rng.poisson(data * (counts / max(float(data.sum()), 1e-12))).astype(np.float64)
    else:
        data = np.abs(data + rng.normal(0.0, 0.02, size=shape))
        data = np.round(data * 1000.0)
    params = {
        "kind": kind,
        "deficit": deficit,
        "atrophy_mm": atrophy_mm,
        "fwhm": fwhm,
        "counts": counts if kind == "spect" else None,
        "seed": seed,
        "age_months": age_months,
        "unilateral": unilateral,
        "head_scale": round(head_scale, 4),
    }
    vol = Volume(data=data, affine=grid, meta={"format": "phantom", "phantom": params})
    return Phantom(volume=vol, true_matrix=matrix, params=params)
