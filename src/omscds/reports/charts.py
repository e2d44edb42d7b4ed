"""Inline SVG charts for reports and the web page: server-rendered, no JavaScript, no CDN.

Every chart carries its meaning in text as well as colour (labels, patterns, ``<title>`` and
``<desc>``), so it survives greyscale printing and screen readers. Numbers come from the
assessment; the charts only draw them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from omscds.model import TumourResult

__all__ = [
    "SeverityPoint",
    "TreatmentBand",
    "body_diagram_svg",
    "probability_steps_svg",
    "severity_chart_svg",
]

Translate = Callable[[str], str]


def _same(s: str) -> str:
    return s


def _pct(p: float) -> str:
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
    width, height = 640, 260
    left, right, top, bottom = 52, 16, 16, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(steps)
    col = plot_w / n

    def y(p: float) -> float:
        return top + (1 - p) * plot_h

    title = tr("Tumour probability after each test")
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
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        ty = y(tick)
        out.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            'stroke="#ccc" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_pct(tick)}</text>"
        )
    for i, (name, p, iv) in enumerate(steps):
        x0, x1 = left + i * col, left + (i + 1) * col
        if iv is not None:
            out.append(
                f'<rect class="band" x="{x0:.1f}" y="{y(iv[1]):.1f}" width="{col:.1f}" '
                f'height="{max(y(iv[0]) - y(iv[1]), 0.5):.1f}" fill="url(#{id_prefix}-band)">'
                f"<title>{_e(tr('interval'))} {_pct(iv[0])}-{_pct(iv[1])}</title></rect>"
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
        label_y = y(p) - 6 if p < 0.9 else y(p) + 16
        out.append(
            f'<text class="value" x="{(x0 + x1) / 2:.1f}" y="{label_y:.1f}" text-anchor="middle" '
            f'font-size="13" font-weight="bold">{_pct(p)}</text>'
        )
        out.append(
            f'<text class="step-label" x="{(x0 + x1) / 2:.1f}" y="{height - bottom + 18}" '
            f'text-anchor="middle" font-size="11">{i}. {_e(_short(name, col))}</text>'
        )
    out.append(
        f'<text x="{left}" y="{height - 12}" font-size="11">'
        f"{_e(tr('Line: probability; hatched band: interval'))}</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _short(text: str, col_width: float) -> str:
    room = max(int(col_width / 6.2), 6)
    return text if len(text) <= room else text[: room - 1] + "…"


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
    parts = []
    for region, by in searched.items():
        if by:
            parts.append(f"{tr(region)}: {tr('covered by')} {labels.get(by, by)}")
        else:
            parts.append(f"{tr(region)}: {tr('not searched')}")
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-body" '
        f'viewBox="0 0 420 290" width="100%" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{_e(tr("Body search coverage"))}</title>',
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
        by = searched.get(region)
        if by:
            fill, state = "#cfe8d5", f"✓ {tr('covered by')} {labels.get(by, by)}"
        else:
            fill, state = f"url(#{id_prefix}-open)", f"✗ {tr('not searched')}"
        prob = probabilities.get(region)
        out.append(
            f'<g class="region region-{region} {"covered" if by else "open"}">'
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
            f'stroke="#333" stroke-width="1.5"/>'
            f'<line x1="{x + w}" y1="{y + h / 2:.0f}" x2="196" y2="{y + h / 2:.0f}" '
            'stroke="#666" stroke-dasharray="2 2"/>'
            f'<text x="200" y="{y + h / 2 - 2:.0f}" font-size="13" font-weight="bold">'
            f"{_e(tr(region).capitalize())}</text>"
            f'<text x="200" y="{y + h / 2 + 13:.0f}" font-size="11">{_e(state)}'
            + (f"; {_e(tr('tumour here'))} {_pct(prob)}" if prob is not None else "")
            + "</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class SeverityPoint:
    date: dt.date
    total: int
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
    title: str = "Severity over time",
    tr: Translate = _same,
    id_prefix: str = "sev",
) -> str:
    """Severity totals over time as a line with labelled points, treatments as labelled bands.

    >>> d = dt.date
    >>> svg = severity_chart_svg([SeverityPoint(d(2024, 1, 1), 9, 12),
    ...     SeverityPoint(d(2024, 3, 1), 4, 12)], [TreatmentBand(d(2024, 1, 5), None, "ACTH")])
    >>> "9/12" in svg and "ACTH" in svg
    True
    """
    width, height = 640, 240
    left, right, top, bottom = 44, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    dates = [p.date for p in points] + [b.start for b in bands]
    dates += [b.end for b in bands if b.end]
    desc = "; ".join(f"{p.date.isoformat()}: {p.total}/{p.max}" for p in points) or tr(
        "no scores recorded"
    )
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-severity" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{id_prefix}-title {id_prefix}-desc">',
        f'<title id="{id_prefix}-title">{_e(tr(title))}</title>',
        f'<desc id="{id_prefix}-desc">{_e(desc)}</desc>',
        "<defs>",
        f'<pattern id="{id_prefix}-tx" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(-45)"><rect width="6" height="6" fill="#efe6f7"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#c7b0dd" stroke-width="2"/></pattern>',
        "</defs>",
    ]
    if not dates:
        out.append(f'<text x="{left}" y="{top + 20}" font-size="13">{_e(desc)}</text></svg>')
        return "".join(out)
    d0, d1 = min(dates), max(dates)
    span = max((d1 - d0).days, 1)
    top_score = max([p.max for p in points] + [1])

    def x(d: dt.date) -> float:
        return left + (d - d0).days / span * plot_w

    def y(v: float) -> float:
        return top + (1 - v / top_score) * plot_h

    for i, b in enumerate(bands):
        bx0, bx1 = x(b.start), x(b.end or d1)
        out.append(
            f'<rect class="band" x="{bx0:.1f}" y="{top}" width="{max(bx1 - bx0, 2):.1f}" '
            f'height="{plot_h}" fill="url(#{id_prefix}-tx)" stroke="#8a6fb0"/>'
            f'<text x="{bx0 + 3:.1f}" y="{top + 12 + 12 * (i % 3)}" font-size="11">'
            f"{_e(b.label)}</text>"
        )
    for tick in (0, top_score / 2, top_score):
        out.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{tick:g}</text>"
        )
    if len(points) > 1:
        path = " ".join(f"{x(p.date):.1f},{y(p.total):.1f}" for p in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="#1f3d7a" stroke-width="2"/>')
    for p in points:
        out.append(
            f'<circle cx="{x(p.date):.1f}" cy="{y(p.total):.1f}" r="4" fill="#1f3d7a"/>'
            f'<text x="{x(p.date):.1f}" y="{y(p.total) - 8:.1f}" text-anchor="middle" '
            f'font-size="11">{p.total}/{p.max}</text>'
        )
    out.append(
        f'<text x="{left}" y="{height - 20}" font-size="11">{d0.isoformat()}</text>'
        f'<text x="{width - right}" y="{height - 20}" font-size="11" text-anchor="end">'
        f"{d1.isoformat()}</text>"
        f'<text x="{left}" y="{height - 4}" font-size="11">'
        f"{_e(tr('Line: total score (higher is worse); hatched bands: treatments'))}</text>"
    )
    out.append("</svg>")
    return "".join(out)
