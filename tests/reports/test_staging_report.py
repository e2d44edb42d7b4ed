"""The staging panel and the PNS-Care section in the Markdown outline and the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data
from omscds.reports import render_markdown
from omscds.reports.html import render_report_html

SEED1 = Path(__file__).parents[2] / "examples" / "seed1-04-histology.json"


def test_markdown_shows_stage_missing_inputs_and_pns_care(kb: KnowledgeBase) -> None:
    md = render_markdown(assess_data(json.loads(SEED1.read_text()), kb), kb)
    assert "## Neuroblastoma staging and risk" in md
    assert "INRGSS stage: L1 or L2 or M; not known: image-defined risk factors" in md
    assert "MISSING: FDG-PET" in md
    assert "## PNS-Care score" in md and "PNS-Care 7" in md
    assert md.index("## Neuroblastoma staging") < md.index("## OMS criteria")


def test_html_panel_marks_open_results_and_assumptions(kb: KnowledgeBase) -> None:
    html = render_report_html(assess_data(json.loads(SEED1.read_text()), kb), kb)
    assert 'class="staging"' in html and 'data-system="inrg_group"' in html
    assert 'class="open"' in html and "assumption" in html
    assert 'id="pns-care"' in html
