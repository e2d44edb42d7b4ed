from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from omscds.errors import ImagingError
from omscds.imaging import analyze_volume, make_phantom
from omscds.reports.imaging_figures import (
    REGION_COLOURS,
    ZMAP_CAPTION,
    _ends,
    legend_entries,
    panels,
    write_figures,
)


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    ph = make_phantom(seed=21, deficit=0.4, shape=(64, 64, 64), spacing=4.0)
    return analyze_volume(ph.volume, "spect", 24, zmap=True)


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_overlay_and_zmap_written(result, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    paths = write_figures(result, tmp_path, fmt=fmt)
    assert [p.name for p in paths] == [f"imaging_overlay.{fmt}", f"imaging_zmap.{fmt}"]
    for p in paths:
        assert p.stat().st_size > 2000
    if fmt == "svg":
        assert "<svg" in paths[0].read_text()[:500]


def test_zmap_lights_up_the_cerebellum(result) -> None:  # type: ignore[no-untyped-def]
    from omscds.imaging.analyze import region_masks

    m = region_masks()
    assert result.zmap[m["cerebellum"]].mean() > 2.0
    assert abs(result.zmap[m["cortex"]].mean()) < 1.0


def test_bad_format_refused(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ImagingError, match="format"):
        write_figures(result, tmp_path, fmt="gif")


# --- what the figures say (issue 13 item 6) ---------------------------------------------------


def _svg_texts(path: Path) -> list[str]:
    root = ET.fromstring(path.read_text())
    return ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_legend_lists_exactly_the_regions_in_the_slices(result) -> None:  # type: ignore[no-untyped-def]
    drawn = panels(result)
    shown, missing = legend_entries(drawn)
    in_slices = {int(v) for p in drawn for v in np.unique(p.labels) if v > 0}
    names = {value: name for value, name, _c in REGION_COLOURS}
    assert {n for n, _c in shown} == {names[v] for v in in_slices}
    assert set(missing) == set(names.values()) - {n for n, _c in shown}
    # the reference regions of both ratios are in view, so the legend names all three
    assert [n for n, _c in shown] == ["cerebellum", "cortex", "thalamus"]
    # each colour is the one the overlay paints with
    assert dict(shown) == {n: c for _v, n, c in REGION_COLOURS}


def test_legend_leaves_out_a_region_no_slice_shows(result) -> None:  # type: ignore[no-untyped-def]
    axial_cerebellum = panels(result)[:1]
    shown, missing = legend_entries(axial_cerebellum)
    assert [n for n, _c in shown] == ["cerebellum"] and set(missing) == {"cortex", "thalamus"}


@pytest.mark.parametrize(
    ("diag", "expected"),
    [((2, 2, 2), [("L", "R"), ("P", "A"), ("I", "S")]), ((-2, -2, 2), [("R", "L"), ("A", "P"), ("I", "S")])],
)  # fmt: skip
def test_edge_letters_follow_the_affine(diag: tuple[int, int, int], expected: list[object]) -> None:
    aff = np.diag([*map(float, diag), 1.0])
    assert [_ends(aff, axis) for axis in range(3)] == expected


def test_slices_are_lettered_and_the_z_convention_is_written(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    overlay, zmap = write_figures(result, tmp_path, fmt="svg")
    texts = _svg_texts(overlay)
    for letter in ("L", "R", "A", "P", "S", "I"):
        assert letter in texts
    assert texts.count("L") == 2 and texts.count("R") == 2  # both axial slices
    assert {"cerebellum", "cortex", "thalamus"} <= set(texts)
    assert not any("green thalamus" in t for t in texts)
    assert any("patient's right (R) is on the right" in t for t in texts)
    ztexts = " ".join(_svg_texts(zmap))
    for line in ZMAP_CAPTION:
        assert line in ztexts
    assert "SD below the age-norm model" in ztexts
