"""The registry timeline for every face: the knowledge base's scale, unscored visits as markers."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

from omscds.interfaces.timeline import patient_timeline_svg, timeline_plot
from omscds.knowledge import KnowledgeBase
from omscds.reports.timeline import draw_timeline
from omscds.storage import TimelineData

NS = "{http://www.w3.org/2000/svg}"
D = dt.date


def _data() -> TimelineData:
    return TimelineData(
        patient_key="P1",
        points=((D(2024, 1, 1), 14), (D(2024, 2, 1), None), (D(2024, 6, 1), 3)),
        treatments=(("acth", D(2024, 1, 2), D(2024, 4, 1)),),
        relapses=(D(2024, 9, 1),),
    )


def _cls(svg: str, cls: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter() if e.get("class") == cls]


def test_scale_and_unscored_visits_come_through(kb: KnowledgeBase) -> None:
    scale = kb.severity_scales["mitchell_pike"]
    plot = timeline_plot(_data(), kb, "Patient P1")
    assert plot.y_max == scale.total_max and plot.scale_label.startswith(scale.label)
    svg = patient_timeline_svg(_data(), kb, "Patient P1", id_prefix="p1")
    assert [e.text for e in _cls(svg, "y-tick")][-1] == str(scale.total_max)
    assert len(_cls(svg, "scored")) == 2 and len(_cls(svg, "unscored")) == 1
    assert len(_cls(svg, "relapse")) == 1
    assert 'id="p1-title"' in svg


def test_cli_file_is_the_web_drawing(kb: KnowledgeBase, tmp_path: Path) -> None:
    plot = timeline_plot(_data(), kb, "Patient P1")
    written = draw_timeline(plot, tmp_path / "t.svg").read_text(encoding="utf-8")
    inline = patient_timeline_svg(_data(), kb, "Patient P1")
    assert written.split("\n", 1)[1].strip() == inline
