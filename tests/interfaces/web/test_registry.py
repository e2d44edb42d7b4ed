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
