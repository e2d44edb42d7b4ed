"""Registry pages against a real SQLite registry (shown only when one is configured)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omscds.interfaces.web.examples import load_example
from omscds.knowledge import KnowledgeBase
from omscds.storage import open_registry
from tests.interfaces import authkit


def test_pages_hidden_without_a_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMSCDS_DATABASE_URL", raising=False)
    with authkit.browser_client() as c:
        assert c.get("/registry").status_code == 404
        assert 'href="/registry"' not in c.get("/").text


def test_the_registry_is_the_apps_settings_not_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb: KnowledgeBase
) -> None:
    """An app built with its own settings shows its own registry, whatever the process
    environment says (the web pages once read ``OMSCDS_DATABASE_URL`` again on each request)."""
    url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
    reg = open_registry(url, kb, create=True)
    reg.add_visit("OWN-1", load_example("seed1-01-presentation"), visit_date="2024-03-04")
    reg.close()
    monkeypatch.delenv("OMSCDS_DATABASE_URL", raising=False)
    with authkit.browser_client(database_url=url) as c:
        assert 'href="/registry"' in c.get("/").text
        listing = c.get("/registry")
        assert listing.status_code == 200 and "OWN-1" in listing.text
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    open_registry(other, kb, create=True).close()
    monkeypatch.setenv("OMSCDS_DATABASE_URL", other)  # the environment names another one
    with authkit.browser_client(database_url=url) as c:
        assert "OWN-1" in c.get("/registry").text


def test_save_visit_list_and_timeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb: KnowledgeBase
) -> None:
    url = f"sqlite:///{tmp_path / 'reg.sqlite3'}"
    open_registry(url, kb, create=True).close()
    monkeypatch.setenv("OMSCDS_DATABASE_URL", url)
    case = load_example("seed1-02-mibg-negative")
    case["severity"] = {"scale": next(iter(kb.severity_scales)), "total": 7}
    with authkit.browser_client() as c:
        page = c.post("/assess", data={"case_json": json.dumps(case)})
        assert 'action="/registry/visits"' in page.text
        r = c.post(
            "/registry/visits",
            data={"case_json": json.dumps(case), "patient": "P-1", "visit_date": "2024-03-08"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        listing = c.get("/registry").text
        assert "P-1" in listing
        tl = c.get("/registry/patients/P-1")
        assert tl.status_code == 200
        assert "chart-severity" in tl.text and "2024-03-08" in tl.text
        assert c.get("/registry/patients/nobody").status_code == 404
        bad = c.post("/registry/visits", data={"case_json": "{}", "patient": "P-2"})
        assert bad.status_code == 422
        assert "Traceback" not in bad.text


def test_advice_changes_page_lists_only_the_changed_patients(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kb: KnowledgeBase
) -> None:
    """Visits assessed under an older knowledge base (CSF not advised after a negative MIBG),
    then ``registry reassess`` under the shipped one: the page names the changed patients."""
    import shutil

    from omscds.knowledge import load_knowledge
    from omscds.knowledge.loader import DATA_DIR

    old_dir = tmp_path / "old-kb"
    shutil.copytree(DATA_DIR, old_dir)
    rec = old_dir / "recommendations.yaml"
    text = rec.read_text()
    marker = '    when_none: [csf_done]\n    title: "CSF: oligoclonal'
    assert marker in text
    rec.write_text(text.replace(marker, marker.replace("[csf_done]", "[csf_done, mibg_negative]")))
    url = f"sqlite:///{tmp_path / 'reg.sqlite3'}"
    old = open_registry(url, load_knowledge(old_dir), create=True)
    oms = {"opsoclonus": "present", "myoclonus": "present", "ataxia": "present"}
    mibg = [{"modality": "mibg", "result": "negative", "date": "2024-03-05"}]
    try:
        old.add_visit("P-changed", {"age_months": 22, "findings": oms, "tests": mibg}, "2024-03-10")
        old.add_visit("P-same", {"age_months": 22, "findings": oms}, "2024-03-10")
    finally:
        old.close()
    new = open_registry(url, kb)
    try:
        assert sum(1 for _ in new.reassess(workers=1)) == 3  # the counts and two patients
    finally:
        new.close()
    monkeypatch.setenv("OMSCDS_DATABASE_URL", url)
    with authkit.browser_client() as c:
        assert 'href="/registry/changes"' in c.get("/registry").text
        page = c.get("/registry/changes")
        assert page.status_code == 200
        assert "P-changed" in page.text and "P-same" not in page.text
        assert "recommendations added: csf_support" in page.text
        assert "1 patient with changed advice" in page.text
