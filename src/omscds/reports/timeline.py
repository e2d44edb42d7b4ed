"""A patient's course over time: severity totals, treatment courses, relapses, unscored visits.

One drawing for every face (issue 13): ``timeline_scene`` lays the chart out once as a list of
shapes in pixel coordinates; ``scene_svg`` writes them as inline SVG (the web page, the PDF, the
CLI's and the API's ``.svg``) and ``draw_timeline`` rasterises the same shapes with matplotlib's
Agg backend for ``.png``. matplotlib only paints the given geometry (no axes, no layout of its
own), so the PNG cannot disagree with the SVG; no SVG renderer (cairosvg, a browser) is needed.

The y axis runs over the whole scale (its maximum from the knowledge base); a visit without a
complete score is a hollow diamond in its own row under the axis, never a zero on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Literal

from omscds.errors import InputError

__all__ = [
    "FORMATS",
    "Course",
    "Scene",
    "TimelinePlot",
    "draw_timeline",
    "scene_svg",
    "timeline_scene",
    "timeline_svg",
]

FORMATS = (".svg", ".png")

Translate = Callable[[str], str]


def _same(s: str) -> str:
    return s


@dataclass(frozen=True)
class Course:
    """A treatment course; an open course (no stop) runs to the last date shown."""

    label: str
    start: dt.date
    stop: dt.date | None = None


@dataclass(frozen=True)
class TimelinePlot:
    title: str
    #: (visit date, severity total or None when the visit was not fully scored)
    points: Sequence[tuple[dt.date, int | None]]
    courses: Sequence[Course] = ()
    relapses: Sequence[dt.date] = ()
    scale_label: str = "Severity total"
    #: the scale's maximum (from the knowledge base), the top of the y axis
    y_max: int | None = None


# --- the shapes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = "#000"
    width: float = 1.0
    dash: tuple[float, float] | None = None
    cls: str = ""


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str | None = None
    #: drawn hatched (with ``fill`` as the background): meaning that survives greyscale
    hatch: bool = False
    cls: str = ""


@dataclass(frozen=True)
class Polyline:
    points: tuple[tuple[float, float], ...]
    stroke: str = "#000"
    width: float = 2.0


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    kind: Literal["dot", "diamond"]
    cls: str = ""
    title: str = ""


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: float = 11
    anchor: Literal["start", "middle", "end"] = "start"
    bold: bool = False
    rotate: float = 0.0
    cls: str = ""


Shape = Line | Rect | Polyline | Marker | Text


@dataclass(frozen=True)
class Scene:
    width: int
    height: int
    title: str
    desc: str
    shapes: tuple[Shape, ...]


# --- layout ----------------------------------------------------------------------------------

_INK, _RELAPSE, _COURSE_BG, _COURSE_LINE = "#1f3d7a", "#b0282c", "#efe6f7", "#8a6fb0"


def _span(plot: TimelinePlot) -> tuple[dt.date, dt.date]:
    dates = [d for d, _ in plot.points] + list(plot.relapses)
    dates += [c.start for c in plot.courses] + [c.stop for c in plot.courses if c.stop]
    if not dates:
        raise InputError("nothing to draw: the patient has no visits, courses or relapses")
    lo, hi = min(dates), max(dates)
    if lo == hi:
        return lo - dt.timedelta(days=15), hi + dt.timedelta(days=15)
    pad = dt.timedelta(days=max(round((hi - lo).days * 0.03), 1))  # markers clear of the edges
    return lo - pad, hi + pad


def _step(top: int) -> int:
    """A tick step that divides the scale's maximum into at most 6 to 9 labelled steps."""
    for step in (1, 2, 3, 5, 10, 20, 25, 50):
        if top % step == 0 and top // step <= 9:
            return step
    return max(top // 6, 1)


def timeline_scene(plot: TimelinePlot, *, tr: Translate = _same) -> Scene:
    """Lay the timeline out: courses as labelled rows above the plot, relapses as dashed lines
    marked "relapse", scored visits as dots with their total, unscored ones as diamonds.

    >>> d = dt.date
    >>> s = timeline_scene(TimelinePlot("P", [(d(2024, 1, 1), 9), (d(2024, 2, 1), None)],
    ...     y_max=18))
    >>> [m.kind for m in s.shapes if isinstance(m, Marker) and m.cls != "legend"]
    ['dot', 'diamond']
    >>> "18" in [t.text for t in s.shapes if isinstance(t, Text)]
    True
    """
    lo, hi = _span(plot)
    last = max([d for d, _ in plot.points] + list(plot.relapses) + [c.start for c in plot.courses])
    labels = sorted({c.label for c in plot.courses})
    row_of = {label: i for i, label in enumerate(labels)}
    width, left, right = 720, 64, 24
    title_h, course_h, plot_h, unscored_h, dates_h, legend_h = 46, 18, 200, 26, 70, 24
    courses_top = title_h
    plot_top = courses_top + course_h * len(labels) + (8 if labels else 0)
    plot_bottom = plot_top + plot_h
    lane_y = plot_bottom + unscored_h / 2 + 4
    height = int(plot_bottom + unscored_h + dates_h + legend_h)
    plot_w = width - left - right
    scored = [(d, t) for d, t in plot.points if t is not None]
    unscored = [d for d, t in plot.points if t is None]
    top = plot.y_max if plot.y_max is not None else max([t for _, t in scored] + [1])
    span = max((hi - lo).days, 1)

    def x(d: dt.date) -> float:
        return left + (d - lo).days / span * plot_w

    def y(v: float) -> float:
        return plot_top + (1 - v / top) * plot_h

    shapes: list[Shape] = [Text(left, 18, plot.title, size=14, bold=True, cls="title")]
    # the scale: gridlines and a label at every step up to the scale's maximum
    step = _step(top)
    for tick in range(0, top + 1, step):
        shapes.append(Line(left, y(tick), width - right, y(tick), "#ddd"))
        shapes.append(Text(left - 6, y(tick) + 4, str(tick), anchor="end", cls="y-tick"))
    if top % step:
        shapes.append(Line(left, y(top), width - right, y(top), "#ddd"))
        shapes.append(Text(left - 6, y(top) + 4, str(top), anchor="end", cls="y-tick"))
    shapes.append(Line(left, plot_top, left, plot_bottom, "#333"))
    shapes.append(Line(left, plot_bottom, width - right, plot_bottom, "#333"))
    worse = tr("higher is worse")
    scale_text = f"{plot.scale_label} (0–{top}; {worse})"
    shapes.append(Text(left, 36, scale_text, cls="scale"))
    # treatment courses: one labelled row per treatment, hatched, above the plot
    for c in plot.courses:
        i = row_of[c.label]
        x0, x1 = x(c.start), x(c.stop or max(last, c.start))
        ry = courses_top + i * course_h
        until = c.stop.isoformat() if c.stop else tr("ongoing")
        shapes.append(
            Rect(
                x0, ry + 2, max(x1 - x0, 3), course_h - 4, _COURSE_BG, _COURSE_LINE, True, "course"
            )
        )
        text = f"{c.label} {c.start.isoformat()} – {until}"
        if x0 + 4 + 5.6 * len(text) <= width - right:
            shapes.append(Text(x0 + 4, ry + course_h - 5, text, 10, cls="course-label"))
        else:  # it would run off the right edge: end it there instead
            shapes.append(
                Text(width - right, ry + course_h - 5, text, 10, "end", cls="course-label")
            )
    # relapses: a dashed line through the plot, named in words
    relapse = tr("relapse")
    for d in plot.relapses:
        shapes.append(Line(x(d), plot_top, x(d), plot_bottom, _RELAPSE, 2, (5, 3), "relapse"))
        text = f"{relapse} {d.isoformat()}"
        if x(d) + 3 + 5.6 * len(text) <= width - right:
            shapes.append(Text(x(d) + 3, plot_top + 12, text, 10, cls="relapse-label"))
        else:
            shapes.append(Text(x(d) - 3, plot_top + 12, text, 10, "end", cls="relapse-label"))
    # scored visits: a line and dots with their totals
    if len(scored) > 1:
        shapes.append(Polyline(tuple((x(d), y(t)) for d, t in scored), _INK))
    for d, t in scored:
        shapes.append(Marker(x(d), y(t), "dot", "scored", f"{d.isoformat()}: {t}/{top}"))
        label_y = y(t) - 8 if t < top * 0.92 else y(t) + 16
        shapes.append(Text(x(d), label_y, f"{t}/{top}", anchor="middle", cls="total"))
    # unscored visits: their own row under the axis
    not_scored = tr("not scored")
    if unscored:
        shapes.append(Text(left - 6, lane_y + 4, not_scored, 10, anchor="end"))
        for d in unscored:
            shapes.append(
                Marker(x(d), lane_y, "diamond", "unscored", f"{d.isoformat()}: {not_scored}")
            )
    # every visit's date, rotated; a date too close to the previous one is left to the desc
    visit_dates = sorted({d for d, _ in plot.points})
    last_x = -1e9
    dates_y = plot_bottom + unscored_h + 8
    for i, d in enumerate(visit_dates):
        if x(d) - last_x < 13 and i != len(visit_dates) - 1:
            continue
        shapes.append(Line(x(d), plot_bottom, x(d), plot_bottom + 4, "#333"))
        shapes.append(Text(x(d) + 4, dates_y, d.isoformat(), 10, "end", rotate=-45, cls="date"))
        last_x = x(d)
    if not visit_dates:
        for d in (lo, hi):
            shapes.append(Text(x(d), dates_y + 8, d.isoformat(), 10, "middle", cls="date"))
    # the legend, each entry drawn with the shape it names
    ly = height - 8
    lx: float = left
    entries: list[tuple[Shape, str]] = []
    if scored:
        entries.append((Marker(0, ly - 4, "dot"), tr("total score")))
    if unscored:
        entries.append((Marker(0, ly - 4, "diamond"), tr("visit not scored")))
    if plot.relapses:
        entries.append((Line(0, ly - 10, 0, ly + 2, _RELAPSE, 2, (5, 3)), relapse))
    if plot.courses:
        entries.append(
            (Rect(0, ly - 10, 16, 10, _COURSE_BG, _COURSE_LINE, True), tr("treatment course"))
        )
    for shape, text in entries:
        if isinstance(shape, Marker):
            shapes.append(Marker(lx + 5, shape.y, shape.kind, "legend"))
        elif isinstance(shape, Line):
            shapes.append(
                Line(lx + 5, shape.y1, lx + 5, shape.y2, shape.stroke, 2, shape.dash, "legend")
            )
        elif isinstance(shape, Rect):
            shapes.append(
                Rect(lx, shape.y, shape.w, shape.h, shape.fill, shape.stroke, True, "legend")
            )
        shapes.append(Text(lx + 20, ly, text, 11, cls="legend"))
        lx += 30 + 6.5 * len(text)
    desc = _describe(plot, top, tr)
    return Scene(width, height, plot.title, desc, tuple(shapes))


def _describe(plot: TimelinePlot, top: int, tr: Translate) -> str:
    not_scored, ongoing, relapse = tr("not scored"), tr("ongoing"), tr("relapse")
    parts = [
        f"{d.isoformat()}: {t}/{top}" if t is not None else f"{d.isoformat()}: {not_scored}"
        for d, t in plot.points
    ]
    parts += [
        f"{c.label} {c.start.isoformat()} – {c.stop.isoformat() if c.stop else ongoing}"
        for c in plot.courses
    ]
    parts += [f"{relapse} {d.isoformat()}" for d in plot.relapses]
    return f"{plot.scale_label} (0–{top}). " + "; ".join(parts)


# --- SVG -------------------------------------------------------------------------------------


def _e(s: object) -> str:
    return escape(str(s), quote=True)


def _f(v: float) -> str:
    return f"{v:.1f}"


def scene_svg(scene: Scene, *, id_prefix: str = "sev") -> str:
    """The scene as inline SVG: viewBox, role="img", <title> and <desc>, escaped text."""
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-severity" '
        f'viewBox="0 0 {scene.width} {scene.height}" width="100%" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{_e(scene.title)}</title>',
        f'<desc id="{id_prefix}-desc">{_e(scene.desc)}</desc>',
        f'<defs><pattern id="{id_prefix}-tx" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(-45)"><rect width="6" height="6" fill="#efe6f7"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#c7b0dd" stroke-width="2"/></pattern></defs>',
    ]
    for s in scene.shapes:
        cls = f' class="{s.cls}"' if not isinstance(s, Polyline) and s.cls else ""
        if isinstance(s, Line):
            dash = f' stroke-dasharray="{s.dash[0]:g} {s.dash[1]:g}"' if s.dash else ""
            out.append(
                f'<line{cls} x1="{_f(s.x1)}" y1="{_f(s.y1)}" x2="{_f(s.x2)}" y2="{_f(s.y2)}" '
                f'stroke="{s.stroke}" stroke-width="{s.width:g}"{dash}/>'
            )
        elif isinstance(s, Rect):
            fill = f"url(#{id_prefix}-tx)" if s.hatch else s.fill
            stroke = f' stroke="{s.stroke}"' if s.stroke else ""
            out.append(
                f'<rect{cls} x="{_f(s.x)}" y="{_f(s.y)}" width="{_f(s.w)}" height="{_f(s.h)}" '
                f'fill="{fill}"{stroke}/>'
            )
        elif isinstance(s, Polyline):
            pts = " ".join(f"{_f(px)},{_f(py)}" for px, py in s.points)
            out.append(
                f'<polyline points="{pts}" fill="none" stroke="{s.stroke}" '
                f'stroke-width="{s.width:g}"/>'
            )
        elif isinstance(s, Marker):
            title = f"<title>{_e(s.title)}</title>" if s.title else ""
            if s.kind == "dot":
                out.append(
                    f'<circle{cls} cx="{_f(s.x)}" cy="{_f(s.y)}" r="4.5" fill="{_INK}">'
                    f"{title}</circle>"
                )
            else:
                d = f"M{_f(s.x)} {_f(s.y - 6)}l6 6l-6 6l-6 -6z"
                out.append(
                    f'<path{cls} d="{d}" fill="#fff" stroke="{_INK}" stroke-width="2">'
                    f"{title}</path>"
                )
        else:
            weight = ' font-weight="bold"' if s.bold else ""
            rot = f' transform="rotate({s.rotate:g} {_f(s.x)} {_f(s.y)})"' if s.rotate else ""
            anchor = f' text-anchor="{s.anchor}"' if s.anchor != "start" else ""
            out.append(
                f'<text{cls} x="{_f(s.x)}" y="{_f(s.y)}" font-size="{s.size:g}"{anchor}'
                f"{weight}{rot}>{_e(s.text)}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def timeline_svg(plot: TimelinePlot, *, tr: Translate = _same, id_prefix: str = "sev") -> str:
    """The timeline as inline SVG (web page, PDF, ``.svg`` files)."""
    return scene_svg(timeline_scene(plot, tr=tr), id_prefix=id_prefix)


# --- raster ----------------------------------------------------------------------------------


def _rasterise(scene: Scene, out: Path, dpi: int = 200) -> None:
    """Paint the scene's shapes with matplotlib (1 scene pixel = 1/100 inch = 0.72 pt)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon, Rectangle

    fig = Figure(figsize=(scene.width / 100, scene.height / 100), dpi=dpi)
    ax: Any = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.axis("off")
    pt = 0.72
    for s in scene.shapes:
        if isinstance(s, Line):
            style = (0, (s.dash[0] / s.width, s.dash[1] / s.width)) if s.dash else "-"
            ax.add_line(
                Line2D([s.x1, s.x2], [s.y1, s.y2], color=s.stroke, lw=s.width * pt, ls=style)
            )
        elif isinstance(s, Rect):
            ax.add_patch(
                Rectangle(
                    (s.x, s.y),
                    s.w,
                    s.h,
                    facecolor=s.fill,
                    edgecolor=s.stroke or "none",
                    hatch="////" if s.hatch else None,
                    lw=pt,
                )
            )
        elif isinstance(s, Polyline):
            xs, ys = zip(*s.points, strict=True)
            ax.add_line(Line2D(xs, ys, color=s.stroke, lw=s.width * pt))
        elif isinstance(s, Marker):
            if s.kind == "dot":
                ax.plot([s.x], [s.y], "o", color=_INK, ms=9 * pt)
            else:
                diamond = [(s.x, s.y - 6), (s.x + 6, s.y), (s.x, s.y + 6), (s.x - 6, s.y)]
                ax.add_patch(Polygon(diamond, facecolor="#fff", edgecolor=_INK, lw=2 * pt))
        else:
            ax.text(
                s.x,
                s.y,
                s.text,
                fontsize=s.size * pt,
                ha={"start": "left", "middle": "center", "end": "right"}[s.anchor],
                va="baseline",
                rotation=-s.rotate,
                rotation_mode="anchor",
                fontweight="bold" if s.bold else "normal",
            )
    fig.savefig(out, format="png", metadata={"Software": "omscds"})


def draw_timeline(plot: TimelinePlot, path: str | Path, *, tr: Translate = _same) -> Path:
    """Draw ``plot`` to ``path`` (``.svg`` or ``.png``, the same geometry) and return the path."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"the timeline is written as {' or '.join(FORMATS)}", path="output")
    if not out.parent.exists():
        raise InputError(f"no such directory: {out.parent}", path="output")
    scene = timeline_scene(plot, tr=tr)
    if out.suffix.lower() == ".svg":
        out.write_text(
            '<?xml version="1.0" encoding="utf-8"?>\n' + scene_svg(scene) + "\n", encoding="utf-8"
        )
    else:
        _rasterise(scene, out)
    return out
