"""The PDF report: WeasyPrint output read back with pypdf. Page 1 carries the summary and the
inputs; every bundled example fits in three pages; the parents' page is optional."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from pypdf import PdfReader

from omscds.errors import OmscdsError
from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case
from omscds.reasoning import assess_data
from omscds.reports.pdf import html_to_pdf, render_report_pdf
from omscds.view import build_view, percent
from tests.conftest import EXAMPLES

NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))
WHEN = dt.datetime(2026, 12, 2, 17, 5, tzinfo=dt.UTC)
MAX_PAGES = 3


def _pages(pdf: bytes) -> list[str]:
    return [re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages]


def _sq(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _report(kb: KnowledgeBase, name: str, **kw: Any) -> tuple[Any, Any, bytes]:
    data = _load(name)
    case = parse_case(data)
    a = assess_data(data, kb)
    return a, case, render_report_pdf(a, kb, case=case, generated=WHEN, **kw)


@pytest.mark.parametrize("name", NAMES)
def test_page_one_is_the_summary_and_the_inputs_and_the_report_fits_three_pages(
    name: str, kb: KnowledgeBase
) -> None:
    a, case, pdf = _report(kb, name)
    pages = _pages(pdf)
    assert len(pages) <= MAX_PAGES, f"{name}: {len(pages)} pages"
    first = pages[0]
    v = build_view(a, kb, case=case, generated=WHEN)
    assert v.inputs is not None and v.summary.next_action is not None
    assert _sq(f"Age{v.inputs.age}") in first
    for label in (*v.inputs.present, *v.inputs.absent):
        assert _sq(label) in first
    for test in v.inputs.tests:
        assert _sq(test.date) in first
    assert _sq(v.summary.next_action.title) in first  # the next action
    assert _sq(v.summary.phase_label) in first
    assert _sq("Generated 2026-12-02 17:05 UTC") in first
    assert _sq(a.knowledge_base.version) in first and _sq(a.omscds_version) in first
    assert "Reviewedby" in first and "doesnotdiagnose" in first
    if a.tumour.status == "not_applicable":  # no headline probability anywhere
        assert "Probabilityofatumour" not in "".join(pages) and "P(tumour)" not in first


def test_pdf_contains_plan_probability_citations_disclaimer(kb: KnowledgeBase) -> None:
    a, _, pdf = _report(kb, "seed1-03-ct-positive")
    assert pdf.startswith(b"%PDF")
    text = "".join(_pages(pdf))
    assert _sq(f"Probability of a tumour: {percent(a.tumour.probability)}") in text
    assert a.recommendations
    for rec in a.recommendations:
        assert _sq(rec.title) in text
    assert _sq("References") in text
    src = kb.sources[a.recommendations[0].sources[0]]
    assert _sq(src.title) in text
    assert _sq(a.disclaimer) in text
    assert _sq(a.knowledge_base.version) in text


def test_the_parents_page_is_optional_plain_and_last(kb: KnowledgeBase) -> None:
    a, case, plain = _report(kb, "seed1-02-mibg-negative")
    _, _, with_parents = _report(kb, "seed1-02-mibg-negative", parents=True)
    pages, more = _pages(plain), _pages(with_parents)
    assert len(more) == len(pages) + 1
    last = more[-1]
    parents = build_view(a, kb, case=case).parents
    assert _sq(parents.title) in last and "doesnotdiagnose" in last
    for p in parents.paragraphs:
        assert _sq(p) in last
    assert not re.search(r"\d+%", last)  # no probabilities on the parents' page
    assert "For parents" not in "".join(pages)


def test_external_resources_are_refused() -> None:
    with pytest.raises(OmscdsError, match="external resource"):
        html_to_pdf('<img src="http://example.invalid/x.png">')
