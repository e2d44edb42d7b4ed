"""Overlay pictures of an imaging analysis: slices with the regions, and the voxel z-map.

Three slices on the template grid: axial through the cerebellum (MNI z = -30 mm), axial through
the thalamus (the reference of the cerebellum/thalamus ratio) and mid-sagittal. Every slice is
labelled at its edges with the patient's directions (L/R, A/P, S/I) read from the grid's affine,
and the colour legend lists only the regions that appear in the slices drawn. The z-map states
its sign convention in words. Rendered with matplotlib's Agg backend to PNG or SVG (text kept as
text in SVG).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from omscds.errors import ImagingError
from omscds.imaging.analyze import AnalysisResult, region_masks, template_affine

__all__ = [
    "FORMATS",
    "REGION_COLOURS",
    "ZMAP_CAPTION",
    "Panel",
    "legend_entries",
    "panels",
    "write_figures",
]

FORMATS = ("png", "svg")

#: overlay label value, region, colour (ColorBrewer Set1)
REGION_COLOURS: tuple[tuple[int, str, str], ...] = (
    (1, "cerebellum", "#e41a1c"),
    (2, "cortex", "#377eb8"),
    (3, "thalamus", "#4daf4a"),
)

#: the z-map's convention, as ``imaging.quantify.voxel_zmap`` computes it
ZMAP_CAPTION = (
    "voxel z = (expected - observed) / SD against the age-norm model, both normalised to cortex;",
    "a positive z is uptake below the model (z = 3: uptake 3 SD below it); z > 2 shown",
)

#: positive and negative ends of the RAS world axes, as radiologists letter them
_ENDS = (("R", "L"), ("A", "P"), ("S", "I"))


@dataclass(frozen=True)
class Panel:
    """One slice as drawn: image rows bottom to top (``origin="lower"``) and what its edges are."""

    title: str
    image: NDArray[np.float64]
    labels: NDArray[np.float64]
    zmap: NDArray[np.float64] | None
    #: the patient's direction at the (left, right, bottom, top) edge of the picture
    edges: tuple[str, str, str, str]


def _ends(affine: NDArray[np.float64], axis: int) -> tuple[str, str]:
    """(low-index end, high-index end) of a voxel axis, lettered from its world direction."""
    direction = affine[:3, axis]
    world = int(np.argmax(np.abs(direction)))
    pos, neg = _ENDS[world]
    return (neg, pos) if direction[world] > 0 else (pos, neg)


def _world_z(affine: NDArray[np.float64], k: int) -> float:
    return float((affine @ [0.0, 0.0, float(k), 1.0])[2])


def _mm(v: float) -> str:
    return f"{v:+.0f}" if round(v) else "0"


def panels(result: AnalysisResult) -> list[Panel]:
    """The slices the figures draw, with the overlay labels and (if any) the z-map."""
    if result.registered is None:
        raise ImagingError("the analysis holds no registered image to draw")
    aff = template_affine()
    inv = np.linalg.inv(aff)
    masks = region_masks()
    label = np.zeros(result.registered.shape, dtype=np.float64)
    for value, name, _colour in REGION_COLOURS:
        label[masks[name]] = value
    k_cb = round(float((inv @ [0.0, -55.0, -30.0, 1.0])[2]))
    k_th = round(float(np.argwhere(masks["thalamus"])[:, 2].mean()))
    i_mid = round(float((inv @ [0.0, 0.0, 0.0, 1.0])[0]))
    i0, i1 = _ends(aff, 0)
    j0, j1 = _ends(aff, 1)
    k0, k1 = _ends(aff, 2)
    out = []
    for title, k in (("cerebellum", k_cb), ("thalamus", k_th)):
        out.append(
            Panel(
                f"axial, z = {_mm(_world_z(aff, k))} mm ({title})",
                result.registered[:, :, k].T,
                label[:, :, k].T,
                None if result.zmap is None else result.zmap[:, :, k].T,
                (i0, i1, j0, j1),
            )
        )
    x_mm = float((aff @ [float(i_mid), 0.0, 0.0, 1.0])[0])
    out.append(
        Panel(
            f"sagittal, x = {_mm(x_mm)} mm (midline)",
            result.registered[i_mid, :, :].T,
            label[i_mid, :, :].T,
            None if result.zmap is None else result.zmap[i_mid, :, :].T,
            (j0, j1, k0, k1),
        )
    )
    return out


def legend_entries(drawn: list[Panel]) -> tuple[list[tuple[str, str]], list[str]]:
    """(region, colour) of every region visible in a drawn slice, and the regions that are not."""
    seen = {int(v) for p in drawn for v in np.unique(p.labels) if v > 0}
    shown = [(name, colour) for value, name, colour in REGION_COLOURS if value in seen]
    missing = [name for value, name, _colour in REGION_COLOURS if value not in seen]
    return shown, missing


def _orientation_note(drawn: list[Panel]) -> str:
    left, right = drawn[0].edges[:2]
    if (left, right) == ("L", "R"):
        return "axial slices: the patient's right (R) is on the right of the picture"
    if (left, right) == ("R", "L"):
        return "axial slices: the patient's right (R) is on the left of the picture"
    return f"axial slices: {left} on the left of the picture, {right} on the right"


def _mark_edges(ax: Any, edges: tuple[str, str, str, str]) -> None:
    box = {"facecolor": "black", "edgecolor": "none", "pad": 1.5, "alpha": 0.6}
    kw: Mapping[str, Any] = {
        "transform": ax.transAxes,
        "color": "white",
        "fontsize": 10,
        "fontweight": "bold",
        "bbox": box,
    }
    ax.text(0.02, 0.5, edges[0], ha="left", va="center", **kw)
    ax.text(0.98, 0.5, edges[1], ha="right", va="center", **kw)
    ax.text(0.5, 0.02, edges[2], ha="center", va="bottom", **kw)
    ax.text(0.5, 0.98, edges[3], ha="center", va="top", **kw)


def write_figures(
    result: AnalysisResult, out_dir: Path | str, *, fmt: str = "png", stem: str = "imaging"
) -> list[Path]:
    """Write ``{stem}_overlay.{fmt}`` (regions) and, with a z-map, ``{stem}_zmap.{fmt}``."""
    if fmt not in FORMATS:
        raise ImagingError(f"figure format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    drawn = panels(result)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cmap = ListedColormap(["#00000000", *(c for _v, _n, c in REGION_COLOURS)])
    shown, missing = legend_entries(drawn)
    orientation = _orientation_note(drawn)
    paths: list[Path] = []
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "omscds-imaging"}):
        fig, axes = plt.subplots(1, len(drawn), figsize=(3.4 * len(drawn), 4.2))
        for ax, p in zip(axes, drawn, strict=True):
            ax.imshow(p.image, origin="lower", cmap="gray")
            ax.imshow(
                np.where(p.labels > 0, p.labels, np.nan),
                origin="lower",
                cmap=cmap,
                vmin=0,
                vmax=len(REGION_COLOURS),
                alpha=0.35,
                interpolation="nearest",
            )
            ax.set_title(p.title, fontsize=9)
            ax.axis("off")
            _mark_edges(ax, p.edges)
        fig.legend(
            handles=[Patch(facecolor=c, alpha=0.6, label=n) for n, c in shown],
            loc="lower center",
            ncol=max(len(shown), 1),
            fontsize=9,
            frameon=False,
        )
        ratio = result.ratios.get("cerebellum_to_cortex", result.ratios.get("cerebellum_to_brain"))
        note = f"; not in these slices: {', '.join(missing)}" if missing else ""
        fig.suptitle(
            f"{result.kind.upper()} regions"
            + (f" — ratio {ratio:.2f}" if ratio is not None else "")
            + f"\n{orientation}{note}",
            fontsize=9,
        )
        fig.subplots_adjust(bottom=0.12, top=0.82, wspace=0.05)
        p_out = out / f"{stem}_overlay.{fmt}"
        fig.savefig(p_out, dpi=100, metadata=_metadata(fmt))
        plt.close(fig)
        paths.append(p_out)
        if result.zmap is not None:
            fig, axes = plt.subplots(1, len(drawn), figsize=(3.4 * len(drawn), 4.4))
            im = None
            for ax, p in zip(axes, drawn, strict=True):
                assert p.zmap is not None
                ax.imshow(p.image, origin="lower", cmap="gray")
                im = ax.imshow(
                    np.where(p.zmap >= 2.0, p.zmap, np.nan),
                    origin="lower",
                    cmap="hot",
                    vmin=2,
                    vmax=8,
                    alpha=0.8,
                )
                ax.set_title(p.title, fontsize=9)
                ax.axis("off")
                _mark_edges(ax, p.edges)
            fig.subplots_adjust(bottom=0.2, top=0.78, wspace=0.05)
            assert im is not None  # at least one slice is drawn
            cax = fig.add_axes((0.3, 0.1, 0.4, 0.03))
            fig.colorbar(im, cax=cax, orientation="horizontal").set_label(
                "z: SD below the age-norm model (positive = reduced uptake)", fontsize=8
            )
            fig.suptitle("\n".join((*ZMAP_CAPTION, orientation)), fontsize=8)
            p_out = out / f"{stem}_zmap.{fmt}"
            fig.savefig(p_out, dpi=100, metadata=_metadata(fmt))
            plt.close(fig)
            paths.append(p_out)
    return paths


def _metadata(fmt: str) -> dict[str, str | None]:
    # fixed metadata: the same analysis draws the same file
    return {"Date": None} if fmt == "svg" else {"Software": "omscds"}
