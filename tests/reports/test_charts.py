"""The SVG charts: well-formed, and every meaning also in text."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from omscds.model import TumourEvidence, TumourResult
from omscds.reports.charts import (
    SeverityPoint,
    TreatmentBand,
    body_diagram_svg,
    probability_steps_svg,
    severity_chart_svg,
)

NS = "{http://www.w3.org/2000/svg}"


def _tumour(evidence: tuple[TumourEvidence, ...] = ()) -> TumourResult:
    return TumourResult(
        status="search_incomplete",
        probability=evidence[-1].probability_after if evidence else 0.5,
        interval=(0.1, 0.7),
        prior=0.5,
        prior_interval=(0.2, 0.65),
        searched_regions={"neck": None, "chest": "ct", "abdomen": None, "pelvis": "mri"},
        evidence=evidence,
    )


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def test_step_chart_has_one_step_per_informative_test() -> None:
    ev = (
        TumourEvidence(test=1, modality="mibg", result="negative", likelihood_ratio=0.47,
                       probability_after=0.3213, interval_after=(0.04, 0.65)),
        TumourEvidence(test=2, modality="ct", result="positive", likelihood_ratio=7.0,
                       probability_after=0.7684),
    )  # fmt: skip
    svg = probability_steps_svg(_tumour(ev), labels={"mibg": "MIBG"})
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert len([e for e in root.iter(f"{NS}line") if e.get("class") == "step"]) == 3
    texts = _texts(svg)
    for value in ("50%", "32%", "77%"):
        assert value in texts
    assert any("MIBG: negative" in t for t in texts)
    # two intervals (prior and the MIBG step), the CT step has none
    assert len([e for e in root.iter(f"{NS}rect") if e.get("class") == "band"]) == 2
    assert "MIBG: negative 32% (4%-65%)" in root.find(f"{NS}desc").text  # type: ignore[union-attr]


def test_body_diagram_labels_coverage_in_words() -> None:
    svg = body_diagram_svg(
        {"neck": None, "chest": "ct", "abdomen": None, "pelvis": "mri"},
        {"abdomen": 0.21},
        labels={"ct": "CT", "mri": "MRI"},
    )
    texts = " | ".join(_texts(svg))
    assert "✓ covered by CT" in texts and "✓ covered by MRI" in texts
    assert texts.count("✗ not searched") == 2
    assert "tumour here 21%" in texts
    root = ET.fromstring(svg)
    groups = [g for g in root.iter(f"{NS}g") if "region" in (g.get("class") or "")]
    assert [g.get("class") for g in groups] == [
        "region region-neck open", "region region-chest covered",
        "region region-abdomen open", "region region-pelvis covered",
    ]  # fmt: skip


def test_body_diagram_draws_only_the_patients_search_regions() -> None:
    # an adult's search is chest, abdomen and pelvis: the neck is drawn, never "not searched"
    svg = body_diagram_svg({"chest": None, "abdomen": "ct", "pelvis": None})
    root = ET.fromstring(svg)
    assert [g.get("class") for g in root.iter(f"{NS}g")] == [
        "region region-chest open", "region region-abdomen covered", "region region-pelvis open",
    ]  # fmt: skip
    assert any(r.get("class") == "context context-neck" for r in root.iter(f"{NS}rect"))
    texts = _texts(svg)
    assert "Neck" not in texts and texts.count("✗ not searched") == 2


def test_step_chart_names_each_step_in_full_at_a_phone_readable_size() -> None:
    ev = tuple(
        TumourEvidence(test=i, modality=m, result="negative", likelihood_ratio=0.5,
                       probability_after=p)
        for i, (m, p) in enumerate((("mibg", 0.33), ("urine_catecholamines", 0.2), ("ct", 0.05)))
    )  # fmt: skip
    labels = {"mibg": "MIBG", "urine_catecholamines": "Urine catecholamines (HVA/VMA)"}
    svg = probability_steps_svg(_tumour(ev), labels=labels | {"ct": "CT"})
    root = ET.fromstring(svg)
    steps = [
        "".join(t.itertext()) for t in root.iter(f"{NS}text") if t.get("class") == "step-label"
    ]
    assert steps[2] == "2. Urine catecholamines (HVA/VMA): negative → 20%"
    assert root.get("viewBox", "").split()[2] == "480"
    sizes = [float(t.get("font-size", "0")) for t in root.iter(f"{NS}text")]
    assert min(sizes) >= 13  # 13 px of a 480-wide chart is 9 px at 330 px


def test_ids_are_prefixed_so_two_charts_can_share_a_page() -> None:
    a = body_diagram_svg({"neck": None}, id_prefix="one")
    b = body_diagram_svg({"neck": None}, id_prefix="two")
    assert 'id="one-open"' in a and 'id="two-open"' in b


def test_text_is_escaped() -> None:
    svg = probability_steps_svg(_tumour(), tr=lambda s: s + "<&>")
    ET.fromstring(svg)  # would raise on unescaped markup


def test_severity_chart() -> None:
    d = dt.date
    points = [SeverityPoint(d(2024, 1, 1), 9, 12), SeverityPoint(d(2024, 4, 1), 3, 12)]
    bands = [
        TreatmentBand(d(2024, 1, 10), d(2024, 3, 1), "ACTH"),
        TreatmentBand(d(2024, 2, 1), None, "IVIG"),
    ]
    svg = severity_chart_svg(points, bands)
    texts = _texts(svg)
    assert "9/12" in texts and "3/12" in texts
    assert "ACTH 2024-01-10 – 2024-03-01" in texts and "IVIG 2024-02-01 – ongoing" in texts
    assert "2024-01-01" in texts and "2024-04-01" in texts
    empty = severity_chart_svg([])
    assert "no scores recorded" in " ".join(_texts(empty))
