"""Overlay pictures of an imaging analysis: axial and sagittal slices, regions, voxel z-map.

Rendered with matplotlib's Agg backend to PNG or SVG for reports and the web page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from omscds.errors import ImagingError
from omscds.imaging.analyze import AnalysisResult, region_masks, template_affine

__all__ = ["FORMATS", "write_figures"]

FORMATS = ("png", "svg")


def _slices(vol: np.ndarray, affine: np.ndarray) -> dict[str, Any]:
    inv = np.linalg.inv(affine)
    # through the cerebellum (MNI z = -30 mm) and the midline (x = 0)
    k = round(float((inv @ [0.0, -55.0, -30.0, 1.0])[2]))
    i = round(float((inv @ [0.0, 0.0, 0.0, 1.0])[0]))
    return {"axial": vol[:, :, k].T, "sagittal": vol[i, :, :].T}


def write_figures(
    result: AnalysisResult, out_dir: Path | str, *, fmt: str = "png", stem: str = "imaging"
) -> list[Path]:
    """Write ``{stem}_overlay.{fmt}`` (regions) and, with a z-map, ``{stem}_zmap.{fmt}``."""
    if fmt not in FORMATS:
        raise ImagingError(f"figure format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if result.registered is None:
        raise ImagingError("the analysis holds no registered image to draw")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    aff = template_affine()
    masks = region_masks()
    label = np.zeros(result.registered.shape, dtype=np.float64)
    for value, name in ((1, "cerebellum"), (2, "cortex"), (3, "thalamus")):
        label[masks[name]] = value
    img = _slices(result.registered, aff)
    lab = _slices(label, aff)
    cmap = ListedColormap(["#00000000", "#e41a1c", "#377eb8", "#4daf4a"])
    paths: list[Path] = []
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, view in zip(axes, ("axial", "sagittal"), strict=True):
        ax.imshow(img[view], origin="lower", cmap="gray")
        ax.imshow(
            np.where(lab[view] > 0, lab[view], np.nan),
            origin="lower",
            cmap=cmap,
            vmin=0,
            vmax=3,
            alpha=0.35,
            interpolation="nearest",
        )
        ax.set_title(view)
        ax.axis("off")
    ratio = result.ratios.get("cerebellum_to_cortex", result.ratios.get("cerebellum_to_brain"))
    fig.suptitle(
        f"{result.kind.upper()}: red cerebellum, blue cortex, green thalamus"
        + (f" — ratio {ratio:.2f}" if ratio is not None else ""),
        fontsize=9,
    )
    p = out / f"{stem}_overlay.{fmt}"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)
    if result.zmap is not None:
        z = _slices(result.zmap, aff)
        fig, axes = plt.subplots(1, 2, figsize=(8, 4))
        for ax, view in zip(axes, ("axial", "sagittal"), strict=True):
            ax.imshow(img[view], origin="lower", cmap="gray")
            im = ax.imshow(
                np.where(z[view] >= 2.0, z[view], np.nan),
                origin="lower",
                cmap="hot",
                vmin=2,
                vmax=8,
                alpha=0.8,
            )
            ax.set_title(view)
            ax.axis("off")
        fig.colorbar(im, ax=list(axes), shrink=0.7, label="z (reduced uptake)")
        fig.suptitle(
            "voxel z-map vs the age-norm model, normalised to cortex (z > 2 shown)", fontsize=9
        )
        p = out / f"{stem}_zmap.{fmt}"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(p)
    return paths
