"""Whether two files hold the same acquisition (a NIfTI export beside its DICOM, say).

A batch folder often holds one study twice: the scanner's DICOM and a NIfTI converted from it,
or the phantom command's NIfTI and DICOM variants. Analysing both would count one child twice in
a results table. Identifiers cannot tell (NIfTI carries no UIDs, converters mint new ones), so the
image is compared: the grid reoriented to the closest RAS+ axes (a left/right-flipped or
reversed-slice DICOM holds the same voxels in another order), its shape and world geometry, and
the maximum of each of 10 x 10 x 10 blocks, scaled by the image maximum. A block maximum moves by
no more than the largest voxel difference, so integer storage or a rescale slope (a rounding of
half a stored unit) leaves it in place, while noise does not average out of it as it would out of
a mean.

Two studies are the same only when the shape matches, every affine entry agrees within
``AFFINE_MM`` and every block maximum within ``BLOCK_TOLERANCE`` of the image maximum. The
tolerances are tight on purpose (``source: assumption``, no literature: this is file identity,
not a clinical quantity): a wrongly merged pair would silently drop a study from the table,
whereas a missed pair only repeats a row; so two acquisitions of one child (a repeat scan differs
by counting noise of several percent per voxel) are kept apart even on the same grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omscds.errors import OmscdsError
from omscds.imaging.volume import Volume, nib

__all__ = ["AFFINE_MM", "BLOCK_TOLERANCE", "Signature", "duplicates", "signature"]

AFFINE_MM = 0.05
BLOCK_TOLERANCE = 1e-3
_BLOCKS = 10


@dataclass(frozen=True)
class Signature:
    """Shape, canonical affine and normalised block maxima of one image."""

    shape: tuple[int, int, int]
    affine: tuple[float, ...]
    blocks: tuple[float, ...]

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        return {"shape": list(self.shape), "affine": list(self.affine), "blocks": list(self.blocks)}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> Signature:
        sh = tuple(int(v) for v in d["shape"])
        if len(sh) != 3:
            raise ValueError("signature shape must have 3 entries")
        return cls((sh[0], sh[1], sh[2]), tuple(d["affine"]), tuple(d["blocks"]))

    def same_as(self, other: Signature) -> bool:
        if self.shape != other.shape or len(self.blocks) != len(other.blocks):
            return False
        if not np.allclose(self.affine, other.affine, rtol=0.0, atol=AFFINE_MM):
            return False
        a, b = np.asarray(self.blocks), np.asarray(other.blocks)
        return bool(np.max(np.abs(a - b)) <= BLOCK_TOLERANCE)


def of_volume(vol: Volume) -> Signature:
    """The signature of an image already read."""
    nb = nib()
    ornt = nb.orientations.io_orientation(vol.affine)
    data = np.asarray(nb.orientations.apply_orientation(vol.data, ornt), dtype=np.float64)
    affine = vol.affine @ nb.orientations.inv_ornt_aff(ornt, vol.data.shape)
    peaks = []
    edges = [np.linspace(0, n, _BLOCKS + 1).astype(int) for n in data.shape]
    for i0, i1 in zip(edges[0][:-1], edges[0][1:], strict=True):
        for j0, j1 in zip(edges[1][:-1], edges[1][1:], strict=True):
            for k0, k1 in zip(edges[2][:-1], edges[2][1:], strict=True):
                peaks.append(float(data[i0:i1, j0:j1, k0:k1].max()))
    arr = np.asarray(peaks)
    top = float(np.abs(arr).max())
    arr = arr / top if top > 0 else arr
    sh = data.shape
    return Signature(
        (int(sh[0]), int(sh[1]), int(sh[2])),
        tuple(round(float(v), 4) for v in affine[:3].ravel()),
        tuple(round(float(v), 6) for v in arr),
    )


def signature(path: Path | str) -> Signature | None:
    """The signature of the study at ``path``; None when it cannot be read (analysis says why)."""
    from omscds.imaging.io import read_image

    try:
        return of_volume(read_image(path))
    except OmscdsError:
        return None


def duplicates(
    keyed: list[tuple[str, tuple[object, ...], Signature | None]],
) -> dict[str, str]:
    """``{id: id of the earlier study it repeats}`` for entries ``(id, context, signature)``.

    Entries are compared in the order given, so the first of a pair is the one analysed; the
    context (kind and age) must match too, since the same image read at another age is another
    analysis.
    """
    kept: list[tuple[str, tuple[object, ...], Signature]] = []
    out: dict[str, str] = {}
    for sid, ctx, sig in keyed:
        if sig is None:
            continue
        first = next((k for k, c, s in kept if c == ctx and s.same_as(sig)), None)
        if first is None:
            kept.append((sid, ctx, sig))
        else:
            out[sid] = first
    return out
