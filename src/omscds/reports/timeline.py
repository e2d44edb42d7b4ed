"""A patient's course over time: severity totals, treatment courses as bands, relapses marked.

Takes plain data (the storage layer's timeline converted by the caller), draws with matplotlib's
Agg backend, and writes SVG or PNG by the file's suffix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omscds.errors import InputError

__all__ = ["FORMATS", "Course", "TimelinePlot", "draw_timeline"]

FORMATS = (".svg", ".png")


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


def _span(plot: TimelinePlot) -> tuple[dt.date, dt.date]:
    dates = [d for d, _ in plot.points] + list(plot.relapses)
    dates += [c.start for c in plot.courses] + [c.stop for c in plot.courses if c.stop]
    if not dates:
        raise InputError("nothing to draw: the patient has no visits, courses or relapses")
    lo, hi = min(dates), max(dates)
    if lo == hi:
        lo, hi = lo - dt.timedelta(days=15), hi + dt.timedelta(days=15)
    return lo, hi


def draw_timeline(plot: TimelinePlot, path: str | Path) -> Path:
    """Draw ``plot`` to ``path`` (``.svg`` or ``.png``) and return the path."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"the timeline is written as {' or '.join(FORMATS)}", path="output")
    if not out.parent.exists():
        raise InputError(f"no such directory: {out.parent}", path="output")
    lo, hi = _span(plot)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.5), layout="constrained")
    ax: Any = fig.add_subplot()  # matplotlib's stubs take floats, not dates
    mdates: Any = matplotlib.dates
    colours = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd", "#937860"]
    labels = sorted({c.label for c in plot.courses})
    rows = {label: i for i, label in enumerate(labels)}
    top = plot.y_max if plot.y_max is not None else max([t or 0 for _, t in plot.points] + [1])
    band = top / max(8, 2 * len(labels) + 2)
    for c in plot.courses:
        i = rows[c.label]
        end = c.stop or hi
        y0 = top + band * (0.3 + 1.2 * i)
        ax.axvspan(c.start, end, color=colours[i % len(colours)], alpha=0.12, lw=0)
        ax.broken_barh(
            [(mdates.date2num(c.start), max(mdates.date2num(end) - mdates.date2num(c.start), 1))],
            (y0, band),
            color=colours[i % len(colours)],
            label=c.label if c is next(x for x in plot.courses if x.label == c.label) else None,
        )
    scored = [(d, t) for d, t in plot.points if t is not None]
    if scored:
        ax.plot(
            [d for d, _ in scored],
            [t for _, t in scored],
            "o-",
            color="black",
            label=plot.scale_label,
        )
    unscored = [d for d, t in plot.points if t is None]
    if unscored:
        ax.plot(unscored, [0] * len(unscored), "x", color="grey", label="visit, not scored")
    for i, d in enumerate(plot.relapses):
        ax.axvline(d, color="#c44e52", ls="--", lw=1.5, label="relapse" if i == 0 else None)
    ax.set_xlim(lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03)
    ax.set_ylim(0, top + band * (1.5 + 1.2 * len(labels)))
    # ticks only over the scale's range; the course bands sit above it
    ax.set_yticks([t for t in ax.get_yticks() if 0 <= t <= top])
    ax.set_ylabel(plot.scale_label)
    ax.set_title(plot.title)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    # a fixed salt makes SVG ids (clip paths) stable: the same data draws the same file
    with matplotlib.rc_context({"svg.hashsalt": "omscds-timeline"}):
        fig.savefig(out, format=out.suffix.lower().lstrip("."), metadata=_metadata(out))
    return out


def _metadata(out: Path) -> dict[str, str | None]:
    # fixed metadata: the same data draws the same file
    if out.suffix.lower() == ".svg":
        return {"Date": None}
    return {"Software": "omscds"}
