"""The PDF report: WeasyPrint output with the recommendations, probability, citations and
disclaimer in its text (read back with pypdf)."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from omscds.errors import OmscdsError
from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data
from omscds.reports.html import _pct
from omscds.reports.pdf import html_to_pdf, render_report_pdf
from tests.conftest import EXAMPLES


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _sq(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_pdf_contains_plan_probability_citations_disclaimer(kb: KnowledgeBase) -> None:
    case = json.loads((EXAMPLES / "seed1-03-ct-positive.json").read_text())
    a = assess_data(case, kb)
    pdf = render_report_pdf(a, kb)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    assert _sq(f"Probability of a tumour: {_pct(a.tumour.probability)}") in text
    assert a.recommendations
    for rec in a.recommendations:
        assert _sq(rec.title) in text
    assert _sq("References") in text
    src = kb.sources[a.recommendations[0].sources[0]]
    assert _sq(src.title) in text
    assert _sq(a.disclaimer) in text
    assert _sq(a.knowledge_base.version) in text


def test_external_resources_are_refused() -> None:
    with pytest.raises(OmscdsError, match="external resource"):
        html_to_pdf('<img src="http://example.invalid/x.png">')
