from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from omscds.errors import InputError
from omscds.reports.timeline import Course, TimelinePlot, draw_timeline

D = dt.date


def _plot(**kw: object) -> TimelinePlot:
    base: dict[str, object] = {
        "title": "P-1",
        "points": [(D(2024, 1, 1), 14), (D(2024, 3, 1), None), (D(2024, 6, 1), 5)],
        "courses": [Course("ACTH", D(2024, 1, 2), D(2024, 4, 1)), Course("IVIG", D(2024, 2, 1))],
        "relapses": [D(2024, 9, 1)],
        "y_max": 18,
    }
    base.update(kw)
    return TimelinePlot(**base)  # type: ignore[arg-type]


def test_svg_names_courses_relapses_and_scale(tmp_path: Path) -> None:
    out = draw_timeline(_plot(), tmp_path / "t.svg")
    text = out.read_text()
    assert text.lstrip().startswith(("<?xml", "<svg"))
    for word in ("ACTH", "IVIG", "relapse", "Severity total", "not scored"):
        assert word in text


def test_png_is_written(tmp_path: Path) -> None:
    out = draw_timeline(_plot(), tmp_path / "t.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_data_draws_the_same_svg_and_different_data_differs(tmp_path: Path) -> None:
    a = draw_timeline(_plot(), tmp_path / "a.svg").read_text()
    b = draw_timeline(_plot(), tmp_path / "b.svg").read_text()
    c = draw_timeline(_plot(relapses=[]), tmp_path / "c.svg").read_text()
    assert a == b
    assert a != c and "relapse" not in c


@pytest.mark.parametrize(
    ("name", "plot", "match"),
    [
        ("t.pdf", _plot(), "svg or .png"),
        ("missing/t.svg", _plot(), "no such directory"),
        ("t.svg", _plot(points=[], courses=[], relapses=[]), "nothing to draw"),
    ],
)
def test_bad_requests_are_input_errors(
    tmp_path: Path, name: str, plot: TimelinePlot, match: str
) -> None:
    with pytest.raises(InputError, match=match):
        draw_timeline(plot, tmp_path / name)


def test_single_visit_draws(tmp_path: Path) -> None:
    out = draw_timeline(
        _plot(points=[(D(2024, 1, 1), 3)], courses=[], relapses=[]), tmp_path / "s.svg"
    )
    assert "Severity total" in out.read_text()
