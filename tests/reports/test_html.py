"""The HTML report: standalone, cited, translated through the catalogue."""

from __future__ import annotations

import gettext
import re
from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data
from omscds.reports.html import Citations, render_report_html
from tests.conftest import EXAMPLES


def _load(name: str) -> dict[str, Any]:
    import json

    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_report_shows_what_the_engine_returned(name: str, kb: KnowledgeBase) -> None:
    a = assess_data(_load(name), kb)
    html = render_report_html(a, kb)
    assert html.startswith("<!doctype html>")
    if a.tumour.status == "not_applicable":  # no headline probability (issue 10)
        assert "Probability of a tumour" not in html and "no probability is given" in html
    else:
        assert f'data-value="{a.tumour.probability}"' in html
    assert a.pathway is not None and f'data-phase="{a.pathway.phase}"' in html
    assert html.index('id="pathway"') < html.index('id="tumour"')  # the pathway comes first
    assert a.disclaimer in html
    assert a.knowledge_base.version in html and a.knowledge_base.sha256 in html
    for rec in a.recommendations:
        assert f'data-id="{rec.id}"' in html
    for al in a.alerts:
        assert f"level-{al.level}" in html
    # no external resources: nothing to fetch, nothing from a CDN
    assert not re.search(r'(src|href)="https?://(?!doi\.org)', html.replace("<a href=", "<a x="))
    assert "<link" not in html and "<script" not in html


def test_citation_numbers_link_to_the_reference_list(kb: KnowledgeBase) -> None:
    a = assess_data(_load("seed1-02-mibg-negative"), kb)
    html = render_report_html(a, kb)
    cited = {int(n) for n in re.findall(r'href="#ref-(\d+)"', html)}
    listed = {int(n) for n in re.findall(r'<li id="ref-(\d+)"', html)}
    assert cited == listed
    assert listed == set(range(1, len(listed) + 1))


def test_citations_number_in_order_and_keep_assumptions_apart(kb: KnowledgeBase) -> None:
    ids = list(kb.sources)[:3]
    cite = Citations(kb)
    assert cite.numbers([ids[1], ids[0]]) == [1, 2]
    assert cite.numbers([ids[0], "assumption", ids[2]]) == [2, "assumption", 3]
    refs = cite.references()
    assert [r.id for r in refs] == [ids[1], ids[0], ids[2]]
    assert refs[0].text.startswith(kb.sources[ids[1]].authors)


def _upper(message: str) -> str:
    """Upper-case a message, keeping its %(name)s placeholders."""
    return "".join(
        p if p.startswith("%(") else p.upper() for p in re.split(r"(%\(\w+\)s)", message)
    )


class _Shout(gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return _upper(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _upper(singular if n == 1 else plural)


def test_strings_come_from_the_catalogue(kb: KnowledgeBase) -> None:
    a = assess_data(_load("seed1-02-mibg-negative"), kb)
    html = render_report_html(a, kb, translations=_Shout())
    assert "WHAT TO DO NEXT" in html and "REFERENCES" in html and "DISCLAIMER" in html
    assert "What to do next" not in html


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_the_summary_box_comes_first(name: str, kb: KnowledgeBase) -> None:
    from omscds.reports.html import assessment_context, make_environment
    from omscds.view import build_view

    a = assess_data(_load(name), kb)
    page = (
        make_environment()
        .get_template("_assessment.html.j2")
        .render(**assessment_context(a, kb), whatif=None)
    )
    body = page[page.index('<div class="assessment"') :]
    first = re.search(
        r"<(section|header|p|h\d|div)\b[^>]*>", body[len('<div class="assessment"') :]
    )
    assert first is not None and first.group(0).startswith(
        '<section id="summary" class="summary-box"'
    )
    box = page[
        page.index('<section id="summary"') : page.index("</section>", page.index('id="summary"'))
    ]
    s = build_view(a, kb).summary
    assert s.next_action is not None and s.next_action.title in box
    assert s.phase_label in box and "chart-body" in box  # the body diagram of the search
    for region in s.tumour.uncovered:
        assert region in box
    if s.reminder is not None:
        assert s.reminder.title in box
    if a.alerts:
        assert page.index('id="summary"') < page.index('class="alerts"')
    if a.tumour.status == "not_applicable":  # no probability in the box, the diagram or the table
        assert "P(tumour)" not in box and "%" not in box.replace('width="100%"', "")
        regions = page[
            page.index('class="regions"') : page.index("</table>", page.index('class="regions"'))
        ]
        assert "%" not in regions
