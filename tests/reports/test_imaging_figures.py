from __future__ import annotations

from pathlib import Path

import pytest

from omscds.errors import ImagingError
from omscds.imaging import analyze_volume, make_phantom
from omscds.reports.imaging_figures import write_figures


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
