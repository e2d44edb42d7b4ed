"""End to end in a real browser: Debian's chromium (Playwright) against a real uvicorn server.

The expected numbers are not written here: they come from ``assess()`` on the same case.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from omscds.interfaces.web.examples import example_names, load_example
from omscds.interfaces.web.whatif import hypothetical_case
from omscds.knowledge import KnowledgeBase
from omscds.model import BODY_REGIONS, Assessment
from omscds.reasoning import assess_data
from omscds.reports.html import _pct
from tests.interfaces import authkit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"

SEED_CASE: dict[str, Any] = {
    "age_months": 19,
    "sex": "unknown",
    "findings": {f: "present" for f in ("ataxia", "opsoclonus", "myoclonus", "irritability")},
    "tests": [
        {"modality": "mri", "regions": ["brain"], "result": "negative", "date": "2024-03-04"},
        {"modality": "mibg", "result": "negative", "date": "2024-03-08"},
    ],
}


def squash(text: str) -> str:
    """PDF text without any whitespace (line breaks fall anywhere)."""
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def shown_probability(page: Any) -> tuple[str, float]:
    value = page.locator("#assessment .prob-value")
    return value.inner_text(), float(value.get_attribute("data-value"))


def imaging_of_all_regions(a: Assessment) -> list[str]:
    return [
        r.title
        for r in a.recommendations
        if r.kind == "imaging" and set(BODY_REGIONS) <= set(r.regions)
    ]


def enter_test(page: Any, index: int, modality: str, regions: list[str], result: str) -> None:
    page.get_by_role("button", name="Add a test").click()
    row = page.locator(f'#test-rows .test-row[data-index="{index}"]')
    row.get_by_label("Modality").select_option(modality)
    for region in regions:
        row.locator(f'input[name="tests[{index}].regions"][value="{region}"]').check()
    row.get_by_label("Result").select_option(result)


def test_seed_case_by_hand_whatif_and_pdf(page: Any, kb: KnowledgeBase) -> None:
    expected = assess_data(SEED_CASE, kb)
    page.goto("/")
    page.get_by_label("Age (months)").fill("19")
    for finding in ("ataxia", "opsoclonus", "myoclonus", "irritability"):
        page.locator(f'input[name="findings.{finding}"][value="present"]').check()
    # JavaScript replaced the spare rows by the "Add a test" button
    assert page.locator("#test-rows .test-row").count() == 0
    enter_test(page, 0, "mri", ["brain"], "negative")
    page.locator("#f-tests-0--date").fill("2024-03-04")
    enter_test(page, 1, "mibg", [], "negative")
    page.locator("#f-tests-1--date").fill("2024-03-08")
    assert page.locator("#test-rows .test-row").count() == 2
    page.get_by_role("button", name="Assess").click()

    # the assessment: probability exactly as assess() returns it
    text, value = shown_probability(page)
    assert value == expected.tumour.probability
    assert text == _pct(expected.tumour.probability)
    lo, hi = expected.tumour.interval
    assert f"{_pct(lo)} to {_pct(hi)}" in page.locator("#assessment .interval").inner_text()
    # the expected recommendation: cross-sectional imaging of neck, chest, abdomen and pelvis
    titles = imaging_of_all_regions(expected)
    assert titles, "the engine should recommend imaging of neck, chest, abdomen and pelvis"
    plan = page.locator("#plan")
    for title in titles:
        assert title in plan.inner_text()
    assert "[neck, chest, abdomen, pelvis]" in plan.inner_text()
    assert page.locator("#plan .cites a").count() > 0
    assert page.locator(".references li").count() > 0
    assert expected.disclaimer in page.locator(".disclaimer").inner_text()
    assert expected.knowledge_base.version in page.locator(".disclaimer").inner_text()
    # body diagram: all four regions labelled "not searched" in text, not colour alone
    assert page.locator("svg.chart-body text", has_text="not searched").count() == 4
    assert page.locator("svg.chart-steps").count() == 1
    page.screenshot(path=str(ARTIFACTS / "assessment.png"), full_page=True)

    # what-if: the first planned study, negative, re-assessed on the server
    case = json.loads(page.locator(".pdf-form input[name=case_json]").input_value())
    hypo_case, _ = hypothetical_case(case, expected, "0", "negative", kb)
    hypo = assess_data(hypo_case, kb)
    assert hypo.tumour.probability != expected.tumour.probability
    page.locator(".whatif-form").first.locator("button.whatif-neg").click()
    banner = page.locator("#whatif-banner")
    banner.wait_for(state="visible")
    assert "hypothetical" in banner.inner_text()
    page.wait_for_function(
        "v => document.querySelector('#assessment .prob-value').dataset.value === v",
        arg=str(hypo.tumour.probability),
    )
    assert shown_probability(page)[1] == hypo.tumour.probability
    covered = [r for r, by in hypo.tumour.searched_regions.items() if by]
    assert page.locator("#assessment tr.region-row.covered").count() == len(covered) > 0
    assert [x.get_attribute("data-id") for x in page.locator("#plan .rec").all()] == [
        r.id for r in hypo.recommendations
    ]
    page.screenshot(path=str(ARTIFACTS / "whatif.png"), full_page=True)
    page.get_by_role("button", name="Back to the actual assessment").click()
    assert shown_probability(page)[1] == expected.tumour.probability
    assert banner.is_hidden()

    # the PDF: recommendations, probability, citations and disclaimer
    with page.expect_download() as info:
        page.get_by_role("button", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    data = Path(download.path()).read_bytes()
    (ARTIFACTS / "seed-by-hand.pdf").write_bytes(data)
    text = squash(pdf_text(data))
    assert squash(f"Probability of a tumour: {_pct(expected.tumour.probability)}") in text
    for rec in expected.recommendations:
        assert squash(rec.title) in text
    assert squash("References") in text
    first_source = kb.sources[expected.recommendations[0].sources[0]]
    assert squash(first_source.title) in text
    assert squash(expected.disclaimer) in text


def test_validation_error_beside_the_field(page: Any) -> None:
    page.goto("/")
    page.get_by_label("Age (months)").fill("19")
    enter_test(page, 0, "ct", [], "negative")
    page.get_by_role("button", name="Assess").click()
    error = page.locator("#f-tests-0--regions-error")
    assert "required for CT" in error.inner_text()
    regions = page.locator("#f-tests-0--regions")
    assert regions.get_attribute("aria-invalid") == "true"
    # the message sits inside the regions group of that row, and the summary links to it
    assert regions.locator(".field-error").count() == 1
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    summary.get_by_role("link", name="Test 1: Regions").click()
    assert page.url.endswith("#f-tests-0--regions")
    # the entered values survive the round trip
    assert page.get_by_label("Age (months)").input_value() == "19"


def test_add_and_remove_test_rows(page: Any) -> None:
    page.goto("/?example=seed1-02-mibg-negative")
    rows = page.locator("#test-rows .test-row")
    assert rows.count() == 2
    page.get_by_role("button", name="Add a test").click()
    assert rows.count() == 3
    assert rows.nth(2).locator(".row-number").inner_text() == "3"
    rows.nth(0).get_by_role("button", name="Remove this test (test 1)").click()
    assert rows.count() == 2
    assert rows.nth(0).get_by_label("Modality").input_value() == "mibg"
    assert rows.nth(0).locator(".row-number").inner_text() == "1"


def test_keyboard_only_entry(page: Any) -> None:
    page.goto("/")
    page.get_by_label("Age (months)").focus()
    page.keyboard.type("30")
    radio = page.locator('input[name="findings.opsoclonus"][value="present"]')
    radio.focus()
    page.keyboard.press("Space")
    assert radio.is_checked()
    page.get_by_role("button", name="Assess").focus()
    page.keyboard.press("Enter")
    page.locator("#assessment").wait_for()
    assert page.locator(".crit-met").count() >= 1


def test_every_control_has_a_label(page: Any) -> None:
    page.goto("/?example=seed2-03-histology")
    page.get_by_role("button", name="Assess").click()
    unlabeled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, button, textarea'))
            .filter(el => el.type !== 'hidden' && !el.closest('template'))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !(el.tagName === 'BUTTON' && el.textContent.trim()))
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert unlabeled == []


@pytest.fixture()
def nojs_page(browser: Any, server_url: str) -> Any:
    context = browser.new_context(java_script_enabled=False, base_url=server_url)
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(server_url) else route.abort()
        ),
    )
    page = context.new_page()
    page.goto(f"/login?token={authkit.TOKEN}")
    yield page
    context.close()


def test_without_javascript(nojs_page: Any, kb: KnowledgeBase) -> None:
    page = nojs_page
    page.goto("/?example=seed1-02-mibg-negative")
    # spare blank rows are posted; blank ones are ignored
    assert page.locator("#test-rows .test-row").count() == 4
    page.get_by_role("button", name="Assess").click()
    expected = assess_data(load_example("seed1-02-mibg-negative"), kb)
    assert shown_probability(page)[1] == expected.tumour.probability
    page.locator(".whatif-form").first.locator("button.whatif-pos").click()
    assert "hypothetical" in page.locator("#whatif-banner").inner_text()
    hypo_case, _ = hypothetical_case(
        load_example("seed1-02-mibg-negative"), expected, "0", "positive", kb
    )
    assert shown_probability(page)[1] == assess_data(hypo_case, kb).tumour.probability
    page.screenshot(path=str(ARTIFACTS / "nojs-whatif.png"), full_page=True)


@pytest.mark.parametrize("name", example_names())
def test_each_seed_case_blank_page_to_printed_report(
    page: Any, kb: KnowledgeBase, name: str
) -> None:
    expected = assess_data(load_example(name), kb)
    page.goto("/")
    page.get_by_label("Load an example case").select_option(name)
    page.get_by_role("button", name="Load example").click()
    page.get_by_role("button", name="Assess").click()
    assert expected.pathway is not None
    assert expected.pathway.phase_label in page.locator("#assessment #pathway").inner_text()
    headline = expected.tumour.status != "not_applicable"  # no headline probability then
    if headline:
        assert shown_probability(page)[1] == expected.tumour.probability
    else:
        assert "no probability is given" in page.locator("#assessment #tumour").inner_text()
        assert page.locator("#assessment .prob-value").count() == 0
    with page.expect_download() as info:
        page.get_by_role("button", name="Download PDF").click()
    text = squash(pdf_text(Path(info.value.path()).read_bytes()))
    if headline:
        assert squash(f"Probability of a tumour: {_pct(expected.tumour.probability)}") in text
    else:
        assert squash("no probability is given") in text
    assert squash(expected.pathway.phase_label) in text
    for rec in expected.recommendations:
        assert squash(rec.title) in text
    assert squash(expected.disclaimer) in text
    assert squash("References") in text
