"""Likelihood-ratio bars and the sensitivity view: numbers from the knowledge base, drawn so
they read without colour, and wired into the assessment partial."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from markupsafe import Markup

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, DifferentialEntry
from omscds.reasoning import assess_data
from omscds.reports.charts import assessment_charts, lr_bars_svg, sensitivity_svg
from omscds.reports.explanations import (
    LrRow,
    finding_lr_rows,
    tumour_lr_rows,
    tumour_sensitivity,
)
from omscds.reports.html import assessment_context, make_environment
from tests.conftest import EXAMPLES

NS = "{http://www.w3.org/2000/svg}"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def _assess(name: str, kb: KnowledgeBase) -> Assessment:
    return assess_data(json.loads((EXAMPLES / f"{name}.json").read_text()), kb)


def _pct(p: float) -> str:
    return f"{p:.0%}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def _rows(svg: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{NS}g") if cls in (g.get("class") or "").split()]


def test_finding_lrs_are_the_knowledge_base_weights(kb: KnowledgeBase) -> None:
    a = _assess("adult-sclc-anti-hu", kb)
    oms = next(d for d in a.differential if d.condition == "oms")
    rows = finding_lr_rows(oms, kb)
    cond = next(c for c in kb.differential if c.id == "oms")
    listed = set(oms.support) | set(oms.against) | set(oms.atypical)
    fired = {r.explain: r for r in cond.rules if r.explain in listed}
    assert len(rows) == len(listed) == len(fired)
    for row in rows:
        rule = fired[row.detail]
        assert row.lr == pytest.approx(math.exp(rule.weight))
        assert row.direction == ("for" if rule.weight > 0 else "against")
    # labelled with the clinical label, not the fact id; strongest first
    assert rows[0].label.startswith("Opsoclonus") and "finding:" not in rows[0].label
    assert [abs(math.log(r.lr)) for r in rows] == sorted(
        (abs(math.log(r.lr)) for r in rows), reverse=True
    )


def test_atypical_findings_keep_their_own_mark(kb: KnowledgeBase) -> None:
    cond = next(c for c in kb.differential if c.id == "acute_cerebellar_ataxia")
    rule = next(r for r in cond.rules if r.atypical)
    entry = DifferentialEntry(condition=cond.id, rank=1, atypical=(rule.explain,))
    (row,) = finding_lr_rows(entry, kb)
    assert row.direction == "atypical" and row.lr < 1
    svg = lr_bars_svg([row], title="t")
    (g,) = _rows(svg, "lr-atypical")
    assert "".join(g.itertext()).startswith("! ")


def test_unknown_condition_draws_nothing(kb: KnowledgeBase) -> None:
    assert finding_lr_rows(DifferentialEntry(condition="nope", rank=1, support=("x",)), kb) == ()


def test_lr_bars_read_without_colour() -> None:
    rows = [
        LrRow("Opsoclonus", math.exp(4), "for", detail="opsoclonus <chaotic>"),
        LrRow("CT negative", 0.44, "against", interval=(0.33, 0.6)),
        LrRow("MIBG equivocal", 1.0, "none"),
    ]
    svg = lr_bars_svg(rows, title="A & B")
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("viewBox")
    assert root.find(f"{NS}title").text == "A & B"  # type: ignore[union-attr]
    texts = _texts(svg)
    assert any(t.startswith("+ Opsoclonus") for t in texts)
    assert any(t.startswith("− CT negative") for t in texts)
    assert any(t.startswith("= MIBG equivocal") for t in texts)
    assert "LR 55" in texts and "LR 0.44 (0.33–0.6)" in texts and "LR 1.0" in texts
    # the finding's own words are kept for hover and screen readers
    assert "opsoclonus <chaotic>" in root.find(f"{NS}desc").text  # type: ignore[union-attr]
    # bars grow away from the line at 1: right for, left against; no bar for "no change"
    one = next(e for e in root.iter(f"{NS}path") if e.get("class") == "lr-one")
    x_one = float((one.get("d") or "").split()[0][1:])
    (g_for,) = _rows(svg, "lr-for")
    (g_against,) = _rows(svg, "lr-against")
    (g_none,) = _rows(svg, "lr-none")
    bar_for = g_for.find(f"{NS}rect")
    bar_against = g_against.find(f"{NS}rect")
    assert bar_for is not None and bar_against is not None
    assert float(bar_for.get("x")) == pytest.approx(x_one, abs=0.1)  # type: ignore[arg-type]
    assert float(bar_against.get("x")) + float(bar_against.get("width")) == pytest.approx(  # type: ignore[arg-type]
        x_one, abs=0.2
    )
    # solid against hatched, so the direction survives greyscale printing
    assert bar_for.get("fill", "").startswith("#") and "url(" in bar_against.get("fill", "")
    assert g_none.find(f"{NS}rect") is None and g_none.find(f"{NS}circle") is not None
    assert g_against.find(f"{NS}path") is not None  # the interval's whisker


def test_values_beyond_the_axis_are_marked_and_stated() -> None:
    svg = lr_bars_svg([LrRow("Mass", 1e5, "for")], title="t")
    assert "LR 100000" in _texts(svg)
    (g,) = _rows(svg, "lr-for")
    assert any(p.get("d", "").endswith("z") for p in g.iter(f"{NS}path"))  # the arrow


def test_tumour_lr_rows_follow_the_evidence(kb: KnowledgeBase) -> None:
    a = _assess("seed1-03-ct-positive", kb)
    labels = {k: m.label for k, m in kb.modalities.items()}
    rows = tumour_lr_rows(a.tumour, labels.__getitem__, str)
    assert [r.lr for r in rows] == [e.likelihood_ratio for e in a.tumour.evidence]
    assert [r.interval for r in rows] == [e.likelihood_ratio_interval for e in a.tumour.evidence]
    assert [r.direction for r in rows] == ["against", "for"]
    assert rows[0].label == f"1. {labels['mibg']} negative"


@pytest.mark.parametrize("name", NAMES)
def test_sensitivity_view_reproduces_the_assessment(name: str, kb: KnowledgeBase) -> None:
    a = _assess(name, kb)
    t = a.tumour
    view = tumour_sensitivity(t, kb)
    informative = [e for e in t.evidence if e.sensitivity is not None]
    if t.status in ("confirmed", "not_applicable") or not informative:
        assert view is None
        return
    assert view is not None and view.probability == t.probability
    assert len(view.rows) == 1 + len(informative)
    for row in view.rows:
        # one number at a time never moves the probability further than all of them at once
        assert t.interval[0] - 1e-3 <= row.low <= t.probability + 1e-3
        assert t.probability - 1e-3 <= row.high <= t.interval[1] + 1e-3
    prior = next(r for r in view.rows if r.modality is None)
    assert prior.range == t.prior_interval  # the knowledge base's range, as the engine used it
    tests = sorted((r.modality, r.result, r.range) for r in view.rows if r.modality)
    expected = [(e.modality, e.result, e.sensitivity_interval) for e in informative]
    assert [(m, res, tuple(round(v, 4) for v in rng)) for m, res, rng in tests] == sorted(
        expected  # type: ignore[arg-type]
    )
    assert [r.high - r.low for r in view.rows] == sorted(
        (r.high - r.low for r in view.rows), reverse=True
    )


def test_sensitivity_view_refuses_a_probability_it_cannot_reproduce(kb: KnowledgeBase) -> None:
    t = _assess("seed1-02-mibg-negative", kb).tumour
    assert tumour_sensitivity(t, kb) is not None
    wrong = t.model_copy(update={"probability": 0.9})
    assert tumour_sensitivity(wrong, kb) is None


def test_sensitivity_chart_draws_every_row_and_the_point(kb: KnowledgeBase) -> None:
    t = _assess("seed1-03-ct-positive", kb).tumour
    view = tumour_sensitivity(t, kb)
    assert view is not None
    svg = sensitivity_svg(view, labels={"ct": "CT"})
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert len(_rows(svg, "sens")) == len(view.rows) and len(_rows(svg, "sens-all")) == 1
    texts = _texts(svg)
    assert _pct(t.interval[0]) in texts and _pct(t.interval[1]) in texts
    assert "Prior" in texts and "prior 6%–88%" in texts and "CT positive" in texts
    ct = next(e for e in t.evidence if e.modality == "ct")
    assert ct.sensitivity_interval is not None
    lo, hi = ct.sensitivity_interval
    assert any(x.startswith(f"sensitivity {_pct(lo)}–{_pct(hi)}, specificity") for x in texts)
    point = next(e for e in root.iter(f"{NS}line") if e.get("class") == "sens-point")
    assert float(point.get("x1")) == pytest.approx(44 + t.probability * (480 - 88), abs=0.1)  # type: ignore[arg-type]


def _render(a: Assessment, kb: KnowledgeBase, **extra: Any) -> str:
    ctx = assessment_context(a, kb) | extra
    return make_environment().get_template("_assessment.html.j2").render(**ctx, whatif=None)


@pytest.mark.parametrize("name", ["seed1-03-ct-positive", "post-infectious-ataxia"])
def test_partial_shows_the_charts_where_they_belong(name: str, kb: KnowledgeBase) -> None:
    a = _assess(name, kb)
    charts = assessment_charts(a, kb, id_prefix="x")
    assert all(isinstance(svg, Markup) for _, svg in charts["differential"])
    html = _render(a, kb, charts=charts)
    diff = html[html.index('class="differential"') :]
    tumour = html[html.index('id="tumour"') : html.index('class="differential"')]
    assert diff.count('class="fig-lr"') == min(3, len(a.differential))
    for d in a.differential[:3]:
        assert f'data-condition="{d.condition}"' in diff
    if a.tumour.status == "not_applicable":
        assert "fig-lr-tests" not in html and "fig-sensitivity" not in html
    else:
        assert "fig-lr-tests" in tumour and "fig-sensitivity" in tumour
    # ids are unique on the page
    ids = [m for m in html.split('id="')[1:]]
    ids = [i.split('"')[0] for i in ids]
    assert len(ids) == len(set(ids))


def test_the_page_carries_the_charts_and_the_printed_report_does_not(kb: KnowledgeBase) -> None:
    a = _assess("seed1-03-ct-positive", kb)
    page = _render(a, kb)
    assert "fig-lr" in page and "fig-sensitivity" in page
    printed = _render(
        a, kb, **{"report": False, "charts": assessment_context(a, kb, report=True)["charts"]}
    )
    assert "fig-lr" not in printed and "fig-sensitivity" not in printed
