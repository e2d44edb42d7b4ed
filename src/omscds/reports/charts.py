"""Inline SVG charts for reports and the web page: server-rendered, no JavaScript, no CDN.

Every chart carries its meaning in text as well as colour (labels, patterns, ``<title>`` and
``<desc>``), so it survives greyscale printing and screen readers. Numbers come from the
assessment; the charts only draw them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, TumourResult
from omscds.reports.explanations import (
    LEADING,
    LrRow,
    SensitivityRow,
    SensitivityView,
    finding_lr_rows,
    tumour_lr_rows,
    tumour_sensitivity,
)
from omscds.reports.timeline import Course, TimelinePlot, timeline_svg
from omscds.view.text import Translate, same

__all__ = [
    "SeverityPoint",
    "TreatmentBand",
    "assessment_charts",
    "body_diagram_svg",
    "lr_bars_svg",
    "probability_steps_svg",
    "sensitivity_svg",
    "severity_chart_svg",
]

_same = same  # the view's identity translation (one Translate type for every face)


def _pct(p: float) -> str:
    """Axis and label percent (kept apart from ``view.percent``, whose "<0.1%" would need
    escaping at every SVG use)."""
    return f"{p:.0%}" if p >= 0.01 or p == 0 else f"{p:.1%}"


def _e(s: object) -> str:
    return escape(str(s), quote=True)


def probability_steps_svg(
    tumour: TumourResult,
    *,
    labels: Mapping[str, str] | None = None,
    tr: Translate = _same,
    id_prefix: str = "steps",
) -> str:
    """A step chart of the tumour probability: the prior, then one step per informative test.

    ``labels`` maps a modality id to its display label. The shaded band is the interval; each
    step is labelled with its percentage so the chart reads without colour.

    >>> from omscds.model import TumourResult
    >>> t = TumourResult(status="search_incomplete", probability=0.3, interval=(0.1, 0.6),
    ...     prior=0.5, searched_regions={"neck": None, "chest": None, "abdomen": None,
    ...     "pelvis": None})
    >>> "50%" in probability_steps_svg(t)
    True
    """
    labels = labels or {}
    steps: list[tuple[str, float, tuple[float, float] | None]] = [
        (tr("Prior"), tumour.prior, tumour.prior_interval)
    ]
    for ev in tumour.evidence:
        name = labels.get(ev.modality, ev.modality)
        steps.append((f"{name}: {tr(ev.result)}", ev.probability_after, ev.interval_after))
    # 480 wide (as the explanation charts) so that 14 px text stays readable when a phone
    # scales the chart to 360 px; the steps are numbered under the plot and named in full in a
    # list below it, one line each, rather than cut to fit a column
    width, left, right, top, plot_h = _W, 46, 12, 16, 150
    plot_w = width - left - right
    n = len(steps)
    col = plot_w / n
    list_top = top + plot_h + 26
    height = list_top + 20 * n + 24

    def y(p: float) -> float:
        return top + (1 - p) * plot_h

    title = tr("Tumour probability after each test")
    interval_word = tr("interval")
    legend = tr("Line: probability; hatched band: interval")
    desc = "; ".join(
        f"{name} {_pct(p)}" + (f" ({_pct(iv[0])}-{_pct(iv[1])})" if iv else "")
        for name, p, iv in steps
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-steps" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{_e(title)}</title>',
        f'<desc id="{id_prefix}-desc">{_e(desc)}</desc>',
        "<defs>",
        f'<pattern id="{id_prefix}-band" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#dbe7f5"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9bb5d6" stroke-width="2"/></pattern>',
        "</defs>",
    ]
    for tick in (0.0, 0.5, 1.0):
        ty = y(tick)
        out.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            'stroke="#ccc" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 5:.1f}" text-anchor="end" font-size="13">'
            f"{_pct(tick)}</text>"
        )
    for i, (name, p, iv) in enumerate(steps):
        x0, x1 = left + i * col, left + (i + 1) * col
        if iv is not None:
            out.append(
                f'<rect class="band" x="{x0:.1f}" y="{y(iv[1]):.1f}" width="{col:.1f}" '
                f'height="{max(y(iv[0]) - y(iv[1]), 0.5):.1f}" fill="url(#{id_prefix}-band)">'
                f"<title>{_e(interval_word)} {_pct(iv[0])}-{_pct(iv[1])}</title></rect>"
            )
        out.append(
            f'<line class="step" x1="{x0:.1f}" y1="{y(p):.1f}" x2="{x1:.1f}" y2="{y(p):.1f}" '
            'stroke="#1f3d7a" stroke-width="3"/>'
        )
        if i > 0:
            prev = steps[i - 1][1]
            out.append(
                f'<line x1="{x0:.1f}" y1="{y(prev):.1f}" x2="{x0:.1f}" y2="{y(p):.1f}" '
                'stroke="#1f3d7a" stroke-width="2" stroke-dasharray="4 3"/>'
            )
        label_y = y(p) - 7 if p < 0.88 else y(p) + 19
        out.append(
            f'<text class="value" x="{(x0 + x1) / 2:.1f}" y="{label_y:.1f}" text-anchor="middle" '
            f'font-size="16" font-weight="bold">{_pct(p)}</text>'
        )
        out.append(
            f'<text class="step-number" x="{(x0 + x1) / 2:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle" font-size="14">{i}</text>'
        )
        out.append(
            f'<text class="step-label" x="4" y="{list_top + 20 * i + 14}" font-size="14">'
            f"{i}. {_e(_fits(f'{name} → {_pct(p)}', width - 8, 14))}</text>"
        )
    out.append(f'<text x="4" y="{height - 6}" font-size="13">{_e(legend)}</text>')
    out.append("</svg>")
    return "".join(out)


#: body regions drawn top to bottom: (x, y, width, height) in the diagram's coordinates
_SHAPES: dict[str, tuple[int, int, int, int]] = {
    "neck": (80, 58, 40, 26),
    "chest": (50, 86, 100, 74),
    "abdomen": (55, 162, 90, 62),
    "pelvis": (50, 226, 100, 46),
}


def body_diagram_svg(
    searched: Mapping[str, str | None],
    probabilities: Mapping[str, float] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    tr: Translate = _same,
    id_prefix: str = "body",
) -> str:
    """A body outline with neck, chest, abdomen and pelvis shaded by search coverage.

    Covered regions are solid with a check mark and the modality named; regions not yet
    covered by cross-sectional imaging are cross-hatched and say so in words.

    >>> svg = body_diagram_svg({"neck": None, "chest": "ct", "abdomen": None, "pelvis": None})
    >>> "not searched" in svg and "covered by CT" in svg.replace("ct", "CT")
    True
    """
    labels = labels or {}
    probabilities = probabilities or {}
    covered_by, not_searched = tr("covered by"), tr("not searched")
    body_title, tumour_here = tr("Body search coverage"), tr("tumour here")
    parts = []
    for region, by in searched.items():
        if by:
            parts.append(f"{tr(region)}: {covered_by} {labels.get(by, by)}")
        else:
            parts.append(f"{tr(region)}: {not_searched}")
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-body" '
        f'viewBox="0 0 420 290" width="100%" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{_e(body_title)}</title>',
        f'<desc id="{id_prefix}-desc">{_e("; ".join(parts))}</desc>',
        "<defs>",
        f'<pattern id="{id_prefix}-open" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="#fff4e5"/>'
        '<path d="M0 0L8 8M8 0L0 8" stroke="#c46a00" stroke-width="1.2"/></pattern>',
        "</defs>",
        # head and limbs: context only, not regions of the search
        '<circle cx="100" cy="30" r="26" fill="#eee" stroke="#777"/>',
        '<rect x="22" y="90" width="24" height="120" rx="10" fill="#eee" stroke="#aaa"/>',
        '<rect x="154" y="90" width="24" height="120" rx="10" fill="#eee" stroke="#aaa"/>',
        '<rect x="56" y="274" width="36" height="14" fill="#eee" stroke="#aaa"/>',
        '<rect x="108" y="274" width="36" height="14" fill="#eee" stroke="#aaa"/>',
    ]
    for region, (x, y, w, h) in _SHAPES.items():
        if region not in searched:
            # not a search region for this patient (the neck in adults): outline only
            out.append(
                f'<rect class="context context-{region}" x="{x}" y="{y}" width="{w}" '
                f'height="{h}" rx="6" fill="#eee" stroke="#aaa"/>'
            )
            continue
        by = searched[region]
        if by:
            fill, state = "#cfe8d5", f"✓ {covered_by} {labels.get(by, by)}"
        else:
            fill, state = f"url(#{id_prefix}-open)", f"✗ {not_searched}"
        prob = probabilities.get(region)
        mid = y + h / 2
        # three short lines (region, coverage, probability) at sizes that stay readable when a
        # phone scales the 420-wide diagram to 330 px
        out.append(
            f'<g class="region region-{region} {"covered" if by else "open"}">'
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
            f'stroke="#333" stroke-width="1.5"/>'
            f'<line x1="{x + w}" y1="{mid:.0f}" x2="196" y2="{mid:.0f}" '
            'stroke="#666" stroke-dasharray="2 2"/>'
            f'<text x="200" y="{mid - 6:.0f}" font-size="16" font-weight="bold">'
            f"{_e(tr(region).capitalize())}</text>"
            f'<text x="200" y="{mid + 11:.0f}" font-size="14">{_e(_fits(state, 218, 14))}</text>'
            + (
                f'<text x="200" y="{mid + 27:.0f}" font-size="14">{_e(tumour_here)} '
                f"{_pct(prob)}</text>"
                if prob is not None
                else ""
            )
            + "</g>"
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class SeverityPoint:
    date: dt.date
    #: None: the visit was not fully scored (drawn as its own marker, never as 0)
    total: int | None
    #: the scale's maximum (the top of the axis)
    max: int


@dataclass(frozen=True)
class TreatmentBand:
    start: dt.date
    end: dt.date | None
    label: str


def severity_chart_svg(
    points: Sequence[SeverityPoint],
    bands: Sequence[TreatmentBand] = (),
    *,
    relapses: Sequence[dt.date] = (),
    title: str = "Severity over time",
    scale_label: str = "Severity total",
    tr: Translate = _same,
    id_prefix: str = "sev",
) -> str:
    """The severity timeline (``reports.timeline``, the one drawing for every face) from points
    and bands; a band labelled "relapse" that starts and ends on one day is drawn as a relapse.

    >>> d = dt.date
    >>> svg = severity_chart_svg([SeverityPoint(d(2024, 1, 1), 9, 12),
    ...     SeverityPoint(d(2024, 3, 1), None, 12)], [TreatmentBand(d(2024, 1, 5), None, "ACTH")])
    >>> "9/12" in svg and "ACTH" in svg and "not scored" in svg
    True
    """
    relapse_days = [b.start for b in bands if b.label == "relapse" and b.end == b.start]
    courses = [
        Course(b.label, b.start, b.end)
        for b in bands
        if not (b.label == "relapse" and b.end == b.start)
    ]
    plot = TimelinePlot(
        title=tr(title),
        points=[(p.date, p.total) for p in points],
        courses=courses,
        relapses=[*relapses, *relapse_days],
        scale_label=scale_label,
        y_max=max((p.max for p in points), default=None),
    )
    if not plot.points and not plot.courses and not plot.relapses:
        none = tr("no scores recorded")
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-severity" '
            f'viewBox="0 0 640 40" width="100%" role="img" aria-labelledby="{id_prefix}-title">'
            f'<title id="{id_prefix}-title">{_e(tr(title))}</title>'
            f'<text x="0" y="24" font-size="13">{_e(none)}</text></svg>'
        )
    return timeline_svg(plot, tr=tr, id_prefix=id_prefix)


def _lr(v: float) -> str:
    if math.isinf(v):
        return "∞"
    if v >= 10:
        return f"{v:.0f}"
    if v >= 1:
        return f"{v:.1f}"
    return f"{v:.2g}"


_GLYPH = {"for": "+", "against": "−", "atypical": "!", "none": "="}


#: width of the explanation charts' viewBox: narrow enough that 14 px text stays readable when
#: a phone scales the chart to 360 px, with every label on its own line above its bar
_W = 480


def _fits(text: str, room: float, size: float) -> str:
    """``text`` cut with an ellipsis to about ``room`` px at ``size`` px (full text in <desc>)."""
    chars = max(int(room / (size * 0.56)), 6)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def lr_bars_svg(
    rows: Sequence[LrRow],
    *,
    title: str,
    subtitle: str = "",
    tr: Translate = _same,
    id_prefix: str = "lr",
) -> str:
    """Likelihood-ratio bars on a log scale, as LIRICAL draws them: one row per finding or test.

    A bar runs from 1 (no change) to the likelihood ratio: to the right (solid, "+") when the
    evidence raises the odds, to the left (hatched, "−"; "!" when atypical) when it lowers them.
    Each row is labelled with the evidence and its value; a whisker shows an interval.

    >>> svg = lr_bars_svg([LrRow("Opsoclonus", 54.6, "for"), LrRow("No fever", 0.37, "against")],
    ...     title="OMS")
    >>> "LR 55" in svg and "LR 0.37" in svg and "− No fever" in svg
    True
    """
    width, pad, row_h = _W, 26, 44
    top = 50 if subtitle else 30
    x0, x1 = pad, width - pad
    height = top + row_h * max(len(rows), 1) + 58
    ends = [r.lr for r in rows] + [v for r in rows if r.interval for v in r.interval]
    finite = [v for v in ends if v > 0 and not math.isinf(v)]
    decades = max([1, *(math.ceil(abs(math.log10(v)) - 1e-9) for v in finite)])
    decades = min(decades, 3)
    lo, hi = 10.0**-decades, 10.0**decades
    axis_note = tr("Likelihood ratio (log scale); 1 = no change")
    key_note = tr("+ raises the odds (solid bar), − lowers them (hatched), ! atypical")

    def x(v: float) -> float:
        v = min(max(v, lo), hi) if v > 0 else lo
        return x0 + (math.log10(v) + decades) / (2 * decades) * (x1 - x0)

    def value_text(r: LrRow) -> str:
        text = f"LR {_lr(r.lr)}"
        if r.interval:
            text += f" ({_lr(r.interval[0])}–{_lr(r.interval[1])})"
        return text

    desc = "; ".join(
        f"{_GLYPH[r.direction]} {r.label}: {value_text(r)}" + (f" ({r.detail})" if r.detail else "")
        for r in rows
    ) or tr("no evidence listed")
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-lr" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{_e(title)}'
        + (f": {_e(subtitle)}" if subtitle else "")
        + "</title>",
        f'<desc id="{id_prefix}-desc">{_e(desc)}</desc>',
        "<defs>",
        f'<pattern id="{id_prefix}-against" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe3d6"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#b5541c" stroke-width="2"/></pattern>',
        "</defs>",
        f'<text class="chart-title" x="0" y="18" font-size="15" font-weight="bold">'
        f"{_e(_fits(title, width, 15))}</text>",
    ]
    if subtitle:
        out.append(f'<text x="0" y="38" font-size="13">{_e(_fits(subtitle, width, 13))}</text>')
    # gridlines only where the bars are, so no line runs through a label
    bands = [(top + i * row_h + 19, top + i * row_h + 41) for i in range(len(rows))]
    bands.append((height - 58, height - 52))
    for d in range(-decades, decades + 1):
        v = 10.0**d
        tx = x(v)
        cls, colour, w = ("lr-one", "#555", 2) if d == 0 else ("lr-tick", "#ddd", 1)
        path = "".join(f"M{tx:.1f} {b0}V{b1}" for b0, b1 in bands)
        out.append(
            f'<path class="{cls}" d="{path}" stroke="{colour}" stroke-width="{w}" fill="none"/>'
            f'<text x="{tx:.1f}" y="{height - 38}" text-anchor="middle" font-size="12">'
            f"{v:g}</text>"
        )
    for i, r in enumerate(rows):
        ly = top + i * row_h + 15  # the label's baseline, the bar under it
        cy = ly + 15
        one, end = x(1.0), x(r.lr)
        bx, bw = min(one, end), abs(end - one)
        fill = "#1f3d7a" if r.direction == "for" else f"url(#{id_prefix}-against)"
        value = value_text(r)
        room = width - len(value) * 14 * 0.56 - 12
        out.append(f'<g class="lr-row lr-{r.direction}">')
        out.append(
            f'<text class="lr-label" x="0" y="{ly:.1f}" font-size="14">'
            f"{_e(_GLYPH[r.direction])} {_e(_fits(r.label, room, 14))}"
            f"<title>{_e(r.detail or r.label)}</title></text>"
            f'<text class="lr-value" x="{width}" y="{ly:.1f}" text-anchor="end" font-size="14" '
            f'font-weight="bold">{_e(value)}</text>'
        )
        if r.direction == "none" or bw < 1:
            out.append(
                f'<circle class="lr-bar" cx="{one:.1f}" cy="{cy:.1f}" r="5" fill="#fff" '
                'stroke="#333" stroke-width="1.5"/>'
            )
        else:
            out.append(
                f'<rect class="lr-bar" x="{bx:.1f}" y="{cy - 8:.1f}" width="{bw:.1f}" '
                f'height="16" fill="{fill}" stroke="#333" stroke-width="1"/>'
            )
        if r.interval:
            wa, wb = x(r.interval[0]), x(r.interval[1])
            out.append(
                f'<path class="lr-interval" d="M{wa:.1f} {cy:.1f}H{wb:.1f}M{wa:.1f} {cy - 6:.1f}'
                f'V{cy + 6:.1f}M{wb:.1f} {cy - 6:.1f}V{cy + 6:.1f}" stroke="#000" '
                'stroke-width="1.5" fill="none"/>'
            )
        if r.lr > hi or r.lr < lo:  # beyond the axis: say so with an arrow, the value in text
            ax = x1 if r.lr > hi else x0
            step = 7 if r.lr > hi else -7
            out.append(f'<path d="M{ax:.1f} {cy - 7:.1f}l{step} 7l{-step} 7z" fill="#000"/>')
        out.append("</g>")
    out.append(
        f'<text x="0" y="{height - 20}" font-size="12">{_e(axis_note)}</text>'
        f'<text x="0" y="{height - 5}" font-size="12">{_e(key_note)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def sensitivity_svg(
    view: SensitivityView,
    *,
    labels: Mapping[str, str] | None = None,
    tr: Translate = _same,
    id_prefix: str = "sens",
) -> str:
    """How far the tumour probability moves when one uncertain number moves over its range.

    One bar per number (the prior, each test's sensitivity and specificity), widest first, from
    the probability at one end of the range to the other; the line is the assessment's value.

    >>> from omscds.reports.explanations import SensitivityRow, SensitivityView
    >>> v = SensitivityView(0.25, (SensitivityRow(0.02, 0.71, (0.06, 0.88)),), (0.005, 0.86))
    >>> "prior 6%–88%: 2%–71%" in sensitivity_svg(v)
    True
    """
    labels = labels or {}
    width, row_h = _W, 62
    top = 50
    x0, x1 = 44, width - 44
    rows = [*view.rows, None]  # the last row: every number at once
    height = top + row_h * len(rows) + 56
    title = tr("What the tumour probability rests on")
    subtitle = tr("each uncertain number over its range, the others fixed")
    prior_label, prior_word = tr("Prior"), tr("prior")
    sens_word, spec_word = tr("sensitivity"), tr("specificity")
    all_label, probability_word = tr("All at once"), tr("Probability")

    def x(p: float) -> float:
        return x0 + p * (x1 - x0)

    def rng(lo: float, hi: float) -> str:
        return f"{_pct(lo)}–{_pct(hi)}"

    def words(r: SensitivityRow) -> tuple[str, str]:
        if r.modality is None:
            return prior_label, f"{prior_word} {rng(*r.range)}"
        sub = f"{sens_word} {rng(*r.range)}"
        if r.specificity:
            sub += f", {spec_word} {rng(*r.specificity)}"
        return f"{labels.get(r.modality, r.modality)} {tr(r.result)}", sub

    parts = [f"{' '.join(words(r))}: {rng(r.low, r.high)}" for r in view.rows]
    parts.append(f"{all_label}: {rng(*view.overall)}")
    desc = f"{probability_word} {_pct(view.probability)}. " + "; ".join(parts)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-sensitivity" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{_e(title)}</title>',
        f'<desc id="{id_prefix}-desc">{_e(desc)}</desc>',
        "<defs>",
        f'<pattern id="{id_prefix}-all" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#dbe7f5"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9bb5d6" stroke-width="2"/></pattern>',
        "</defs>",
        f'<text class="chart-title" x="0" y="18" font-size="15" font-weight="bold">'
        f"{_e(_fits(title, width, 15))}</text>",
        f'<text x="0" y="38" font-size="13">{_e(_fits(subtitle, width, 13))}</text>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(
            f'<line x1="{x(tick):.1f}" y1="{top}" x2="{x(tick):.1f}" y2="{height - 48}" '
            'stroke="#ddd"/>'
            f'<text x="{x(tick):.1f}" y="{height - 34}" text-anchor="middle" font-size="12">'
            f"{_pct(tick)}</text>"
        )
    for i, r in enumerate(rows):
        ly = top + i * row_h + 15
        cy = ly + 27
        if r is None:
            label, sub, lo, hi = all_label, tr("the assessment's interval"), *view.overall
            fill, cls = f"url(#{id_prefix}-all)", "sens-all"
        else:
            (label, sub), lo, hi, fill, cls = words(r), r.low, r.high, "#9bb5d6", "sens"
        out.append(
            f'<g class="{cls}">'
            f'<text x="0" y="{ly:.1f}" font-size="14" font-weight="bold">'
            f"{_e(_fits(label, width, 14))}</text>"
            f'<text x="0" y="{ly + 15:.1f}" font-size="12">{_e(_fits(sub, width, 12))}</text>'
            f'<rect class="sens-bar" x="{x(lo):.1f}" y="{cy - 8:.1f}" '
            f'width="{max(x(hi) - x(lo), 1.5):.1f}" height="16" fill="{fill}" stroke="#1f3d7a"/>'
            f'<text x="{x(lo) - 4:.1f}" y="{cy + 5:.1f}" text-anchor="end" font-size="13">'
            f"{_pct(lo)}</text>"
            f'<text x="{x(hi) + 4:.1f}" y="{cy + 5:.1f}" font-size="13">{_pct(hi)}</text></g>'
        )
    px = x(view.probability)
    out.append(
        f'<line class="sens-point" x1="{px:.1f}" y1="{top - 2}" x2="{px:.1f}" '
        f'y2="{height - 48}" stroke="#000" stroke-width="2" stroke-dasharray="5 3"/>'
        f'<text x="0" y="{height - 12}" font-size="12">'
        + _e(tr("Dashed line: the probability, %(p)s.") % {"p": _pct(view.probability)})
        + "</text></svg>"
    )
    return "".join(out)


def assessment_charts(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    tr: Translate = _same,
    id_prefix: str = "a",
) -> dict[str, Any]:
    """The explanation charts of an assessment, ready for ``_assessment.html.j2``.

    ``differential``: (entry, SVG) for each leading condition; ``tests``: the tests' likelihood
    ratios (None without tests); ``sensitivity``: the sensitivity view (None when not given).
    """
    labels = {k: m.label for k, m in kb.modalities.items()}

    def modality(m: str) -> str:
        return labels.get(m, m)

    per_finding = tr("likelihood ratio of each finding")
    differential = []
    for entry in a.differential[:LEADING]:
        rows = finding_lr_rows(entry, kb)
        if rows:
            svg = lr_bars_svg(
                rows,
                title=entry.label or entry.condition,
                subtitle=per_finding,
                tr=tr,
                id_prefix=f"{id_prefix}-lr-{entry.rank}",
            )
            differential.append((entry, Markup(svg)))
    t = a.tumour
    tests = None
    if t.evidence and t.status != "not_applicable":
        tests = Markup(
            lr_bars_svg(
                tumour_lr_rows(t, modality, tr),
                title=tr("Likelihood ratio of each test for a tumour"),
                tr=tr,
                id_prefix=f"{id_prefix}-lrt",
            )
        )
    view = tumour_sensitivity(t, kb)
    sensitivity = None
    if view is not None:
        sensitivity = Markup(
            sensitivity_svg(view, labels=labels, tr=tr, id_prefix=f"{id_prefix}-sens")
        )
    return {"differential": differential, "tests": tests, "sensitivity": sensitivity}
