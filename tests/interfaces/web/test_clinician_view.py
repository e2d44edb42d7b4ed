"""The page's clinician-facing words in process (issue 13): the labelled what-if, PDF and Save
naming the case they use, the age in years and months, errors in the form's words with a
"did you mean", the example picker, and the #case= link."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omscds.interfaces.api import create_app
from omscds.interfaces.web.examples import load_example
from omscds.interfaces.web.forms import CaseForm
from omscds.interfaces.web.labels import age_text, clinical_problems, field_label
from omscds.interfaces.web.render import share_link
from omscds.knowledge import KnowledgeBase
from omscds.storage import open_registry
from tests.interfaces import authkit

SEED = "seed1-02-mibg-negative"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('reg') / 'reg.sqlite3'}"
    open_registry(url, kb, create=True).close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMSCDS_DATABASE_URL", url)
        with authkit.browser_client(create_app(authkit.settings())) as c:
            yield c


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


@pytest.mark.parametrize(
    ("months", "text"),
    [(27, "2 y 3 mo (27 months)"), (24, "2 y (24 months)"), (9, "9 mo (9 months)"),
     (0, "0 mo (0 months)"), (19.5, "1 y 7.5 mo (19.5 months)"), (516, "43 y (516 months)")],
)  # fmt: skip
def test_age_in_years_and_months(months: float, text: str) -> None:
    assert age_text(months, str) == text


def test_the_assessment_says_the_age_and_the_form_reads_it_out(client: TestClient) -> None:
    case = load_example(SEED) | {"age_months": 27}
    page = client.post("/assess", data={"case_json": json.dumps(case)}).text
    assert '<p class="case-line">Age 2 y 3 mo (27 months)</p>' in page
    assert re.search(r'id="age-readout"[^>]*>2 y 3 mo \(27 months\)</span>', page)


def test_whatif_page_is_labelled_in_the_tumour_section(client: TestClient) -> None:
    case = load_example(SEED)
    actual = client.post("/assess", data={"case_json": json.dumps(case)}).text
    assert 'data-view="actual"' in actual and "hypothetical-label" not in actual
    page = client.post(
        "/whatif",
        data={"case_json": json.dumps(case), "whatif": "0", "whatif_result": "negative"},
    ).text
    assert 'data-view="hypothetical"' in page
    tumour = _between(page, '<section class="tumour"', "</section>")
    assert '<span class="hypo-tag">hypothetical</span></h3>' in tumour
    assert (
        "Hypothetical: these numbers assume MRI (neck, chest, abdomen, pelvis) were negative"
        in (tumour)
    )
    # the probability and the hypothetical test's evidence row carry the tag too
    assert re.search(r'class="prob-value"[^<]*</strong><span class="hypo-tag">', tumour)
    assert tumour.count('class="hypo-tag"') == 3
    # the PDF and the registry get the actual case, and say so
    pdf_case = re.search(r'class="pdf-form">.*?name="case_json" value="([^"]*)"', page, re.S)
    assert pdf_case and json.loads(pdf_case.group(1).replace("&#34;", '"')) == case
    assert "Download PDF of the actual case (without the what-if)" in page
    assert "Save the actual case (without the what-if) as a registry visit" in page


def test_whatif_json_carries_the_label(client: TestClient) -> None:
    r = client.post(
        "/api/whatif", json={"case": load_example(SEED), "next_test": 0, "result": "positive"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["hypothetical"]["result"] == "positive"
    assert body["hypothetical"]["test"] == len(load_example(SEED)["tests"])
    assert "hypothetical-label" in body["html"]


def test_errors_use_the_form_labels_and_suggest_names(client: TestClient) -> None:
    r = client.post("/assess", data={"age_months": "nineteen", "sex": "unknown"})
    assert r.status_code == 422
    summary = _between(r.text, 'id="error-summary"', "</div>")
    assert '<a href="#f-age_months">Age (months)</a>: must be a number' in summary
    assert "age_months:" not in summary and "Input should be" not in summary
    fields = {
        "age_months": "19",
        "tests[0].modality": "ct",
        "tests[0].regions": "chest",
        "tests[0].result": "positive",
        "tests[0].findings": "adrenal_uptak",
    }
    r = client.post("/assess", data=fields)
    summary = _between(r.text, 'id="error-summary"', "</div>")
    assert "Test 1: Findings</a>: &#39;adrenal_uptak&#39; is not a test finding" in summary
    assert "did you mean Focal MIBG uptake (adrenal_uptake)?" in summary


def test_unknown_names_in_a_posted_case_get_a_suggestion(
    client: TestClient, kb: KnowledgeBase
) -> None:
    case = {"age_months": 19, "findings": {"opsoclonos": "present"}}
    r = client.post("/assess", data={"case_json": json.dumps(case)})
    assert r.status_code == 422
    assert "did you mean Opsoclonus (opsoclonus)?" in r.text
    problems = clinical_problems(
        [("tests[0].modality", "'ctt' is not one of 'ct', 'mri'; did you mean 'ct'?")], kb, str
    )
    assert problems[0].label == "Test 1: Modality"
    assert problems[0].message == "'ctt' is not a modality omscds knows; did you mean CT (ct)?"


@pytest.mark.parametrize(
    ("path", "label"),
    [("age_months", "Age (months)"), ("tests[2].date", "Test 3: Date"),
     ("tests[0].findings[1]", "Test 1: Findings"), ("findings.ataxia", "Ataxia"),
     ("history.relapse", "Relapse after a remission"), ("histroy", "Field 'histroy'")],
)  # fmt: skip
def test_field_labels(kb: KnowledgeBase, path: str, label: str) -> None:
    assert field_label(path, kb, str) == label


def test_example_picker_shows_the_loaded_example(client: TestClient, kb: KnowledgeBase) -> None:
    blank = client.get("/").text
    assert '<option value="" selected>(choose an example)</option>' in blank
    loaded = client.get(f"/?example={SEED}").text
    assert f'<option value="{SEED}" selected>{SEED}</option>' in loaded
    assert f"The form holds the example {SEED}." in loaded
    assert f'<input type="hidden" name="example" value="{SEED}">' in loaded
    # posted back unchanged: still that example; changed: "edited"
    case = load_example(SEED)
    same = client.post("/assess", data=_form_of(case, kb) | {"example": SEED}).text
    assert f"The form holds the example {SEED}." in same
    edited = client.post(
        "/assess", data=_form_of(case | {"age_months": 30}, kb) | {"example": SEED}
    )
    assert f"The form holds the example {SEED}, edited." in edited.text


def _form_of(case: dict[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    """The fields the form would post for ``case``."""
    form = CaseForm.from_case(case, kb)
    data: dict[str, Any] = {"case_id": form.case_id, "age_months": form.age_months,
                               "sex": form.sex, "extra": form.extra}  # fmt: skip
    data |= {f"findings.{k}": v for k, v in form.findings.items()}
    data |= {f"history.{k}": v for k, v in form.history.items()}
    for i, row in enumerate(form.tests):
        p = f"tests[{i}]"
        data |= {f"{p}.modality": row.modality, f"{p}.result": row.result, f"{p}.date": row.date,
                 f"{p}.findings": row.findings, f"{p}.location": row.location,
                 f"{p}.histology": row.histology, f"{p}.note": row.note, f"{p}.extra": row.extra,
                 f"{p}.regions": list(row.regions)}  # fmt: skip
    return data


def test_share_link_carries_the_case_in_the_fragment(client: TestClient) -> None:
    case = load_example("child-oms-after-resection")
    link = share_link(case)
    assert link.startswith("/#case=") and "=" not in link.removeprefix("/#case=")
    encoded = link.removeprefix("/#case=")
    assert json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))) == case
    page = client.post("/assess", data={"case_json": json.dumps(case)}).text
    assert f'href="{link}" id="share-link"' in page


def test_static_script_has_no_network_calls_but_the_whatif() -> None:
    """The draft and the link stay in the browser: the only request the script makes is the
    what-if (fetch to /api/whatif)."""
    js = (
        Path(__file__).resolve().parents[3] / "src/omscds/interfaces/web/static/app.js"
    ).read_text()
    assert js.count("fetch(") == 1 and 'fetch("/api/whatif"' in js
    assert "XMLHttpRequest" not in js and "sendBeacon" not in js and "WebSocket" not in js
