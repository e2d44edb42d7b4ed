from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from omscds.errors import InputError
from omscds.reports.charts import SeverityPoint, TreatmentBand, severity_chart_svg
from omscds.reports.timeline import (
    Course,
    Marker,
    Text,
    TimelinePlot,
    draw_timeline,
    timeline_scene,
    timeline_svg,
)

D = dt.date
NS = "{http://www.w3.org/2000/svg}"


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


# --- one drawing for every face (issue 13 item 6) ---------------------------------------------


def _els(svg: str, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter(f"{NS}{tag}") if e.get("class") == cls]


def _y_of_zero(svg: str) -> float:
    tick = next(e for e in _els(svg, "text", "y-tick") if e.text == "0")
    return float(tick.get("y")) - 4  # type: ignore[arg-type]


def test_unscored_visits_are_their_own_markers_below_the_axis() -> None:
    svg = timeline_svg(_plot())
    dots = _els(svg, "circle", "scored")
    diamonds = _els(svg, "path", "unscored")
    assert len(dots) == 2 and len(diamonds) == 1
    zero = _y_of_zero(svg)
    for dot in dots:
        assert float(dot.get("cy")) < zero  # type: ignore[arg-type]
    # the diamond sits under the axis line, not on it as a zero
    d = diamonds[0].get("d") or ""
    assert float(d.split()[1].split("l")[0]) > zero
    assert "2024-03-01: not scored" in "".join(diamonds[0].itertext())
    assert "2024-03-01: not scored" in ET.fromstring(svg).find(f"{NS}desc").text  # type: ignore[union-attr]


def test_the_axis_runs_to_the_scale_maximum() -> None:
    svg = timeline_svg(_plot(points=[(D(2024, 1, 1), 5)], courses=[], relapses=[]))
    ticks = [e.text for e in _els(svg, "text", "y-tick")]
    assert ticks[0] == "0" and ticks[-1] == "18"
    assert "(0–18; higher is worse)" in "".join(_els(svg, "text", "scale")[0].itertext())
    # without a scale the highest total is the top
    svg = timeline_svg(_plot(points=[(D(2024, 1, 1), 5)], courses=[], relapses=[], y_max=None))
    assert [e.text for e in _els(svg, "text", "y-tick")][-1] == "5"


def test_every_visit_date_is_labelled() -> None:
    svg = timeline_svg(_plot())
    assert [e.text for e in _els(svg, "text", "date")] == ["2024-01-01", "2024-03-01", "2024-06-01"]


def test_legend_names_only_what_is_drawn() -> None:
    legend = [e.text for e in _els(timeline_svg(_plot()), "text", "legend")]
    assert legend == ["total score", "visit not scored", "relapse", "treatment course"]
    plain = _plot(points=[(D(2024, 1, 1), 5), (D(2024, 2, 1), 4)], courses=[], relapses=[])
    assert [e.text for e in _els(timeline_svg(plain), "text", "legend")] == ["total score"]


def test_png_paints_the_svg_geometry(tmp_path: Path) -> None:
    from PIL import Image

    plot = _plot()
    scene = timeline_scene(plot)
    img = Image.open(draw_timeline(plot, tmp_path / "t.png")).convert("RGB")
    scale = 2  # 200 dpi over a scene of 1/100 inch pixels
    assert img.size == (scene.width * scale, scene.height * scale)
    ink = (0x1F, 0x3D, 0x7A)

    def near(px: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
        return all(abs(a - b) < 40 for a, b in zip(px, colour, strict=True))

    markers = [s for s in scene.shapes if isinstance(s, Marker) and s.cls != "legend"]
    assert {m.kind for m in markers} == {"dot", "diamond"}
    for m in markers:
        centre = img.getpixel((round(m.x * scale), round(m.y * scale)))
        if m.kind == "dot":
            assert near(centre, ink)  # type: ignore[arg-type]
        else:  # a hollow diamond: white inside, ink on its outline
            assert near(centre, (255, 255, 255))  # type: ignore[arg-type]
            edge = img.getpixel((round((m.x + 5.5) * scale), round(m.y * scale)))
            assert near(edge, ink)  # type: ignore[arg-type]


def test_the_web_helper_draws_the_same_timeline() -> None:
    points = [SeverityPoint(D(2024, 1, 1), 14, 18), SeverityPoint(D(2024, 3, 1), None, 18)]
    bands = [
        TreatmentBand(D(2024, 1, 2), None, "ACTH"),
        TreatmentBand(D(2024, 9, 1), D(2024, 9, 1), "relapse"),
    ]
    svg = severity_chart_svg(points, bands, title="Course")
    assert len(_els(svg, "path", "unscored")) == 1
    assert len(_els(svg, "line", "relapse")) == 1  # a relapse, not a one-day treatment
    assert [e.text for e in _els(svg, "text", "y-tick")][-1] == "18"
    scene_texts = [s.text for s in timeline_scene(_plot()).shapes if isinstance(s, Text)]
    assert "visit not scored" in scene_texts


def test_relapses_are_named_and_dated() -> None:
    svg = timeline_svg(_plot())
    assert [e.text for e in _els(svg, "text", "relapse-label")] == ["relapse 2024-09-01"]
    assert len(_els(svg, "line", "relapse")) == 1
