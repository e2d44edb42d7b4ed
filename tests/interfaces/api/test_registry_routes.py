from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from omscds.interfaces.api import create_app
from omscds.knowledge import KnowledgeBase, load_knowledge
from tests.interfaces import authkit

BASE = "/api/v1/registry"
ITEMS = ("stance", "gait", "arm_hand_function", "opsoclonus", "mood_behaviour", "speech")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def _app(kb: KnowledgeBase) -> FastAPI:
    return create_app(authkit.settings())


@pytest.fixture
async def client(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("OMSCDS_DATABASE_URL", f"sqlite:///{tmp_path / 'api.sqlite3'}")
    app = _app(kb)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=authkit.bearer()
    ) as c:
        yield c
    app.state.registry.close()


def _case(total: int | None = None, **extra: Any) -> dict[str, Any]:
    case: dict[str, Any] = {"age_months": 24, "findings": {"opsoclonus": "present"}, **extra}
    if total is not None:
        case["severity"] = {
            "scale": "mitchell_pike",
            "items": {i: 0 for i in ITEMS} | {"stance": total},
        }
    return case


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_visit_treatment_relapse_and_show(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{BASE}/patients/P1/visits", json={"case": _case(3), "date": "2024-01-01"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["visit"]["severity_total"] == 3
    assert body["assessment"]["assessment"]["severity"]["total"] == 3
    r = await client.post(
        f"{BASE}/patients/P1/treatments", json={"agent": "ivig", "start": "2024-01-02"}
    )
    assert r.status_code == 201
    r = await client.post(f"{BASE}/patients/P1/relapses", json={"date": "2024-06-01"})
    assert r.status_code == 201
    await client.post(f"{BASE}/patients/P1/visits", json={"case": _case(1), "date": "2024-06-02"})
    r = await client.get(f"{BASE}/patients/P1")
    h = r.json()
    assert [v["visit_date"] for v in h["visits"]] == ["2024-01-01", "2024-06-02"]
    assert h["treatments"][0]["agent"] == "ivig"
    assert h["latest_assessment"]["input_case"]["history"]["relapse"] is True
    r = await client.get(f"{BASE}/patients/P1/timeline")
    assert r.json()["points"] == [["2024-01-01", 3], ["2024-06-02", 1]]
    r = await client.get(f"{BASE}/patients/P1/timeline", params={"format": "svg"})
    assert r.headers["content-type"].startswith("image/svg+xml") and b"IVIG" in r.content
    r = await client.get(f"{BASE}/audit", params={"limit": 2})
    assert r.json()["total"] == 7 and len(r.json()["items"]) == 2


async def test_listings_are_paginated(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await client.post(f"{BASE}/patients", json={"key": f"K{i}", "external_ids": {"h": str(i)}})
        await client.post(
            f"{BASE}/patients/K0/visits", json={"case": _case(), "date": f"2024-0{i + 1}-01"}
        )
    pages = [
        (await client.get(f"{BASE}/patients", params={"limit": 2, "offset": o})).json()
        for o in (0, 2, 4)
    ]
    assert [len(p["items"]) for p in pages] == [2, 2, 1] and pages[0]["total"] == 5
    assert [i["key"] for p in pages for i in p["items"]] == [f"K{i}" for i in range(5)]
    v = (await client.get(f"{BASE}/patients/K0/visits", params={"limit": 3, "offset": 3})).json()
    assert v["total"] == 5 and [x["visit_date"] for x in v["items"]] == ["2024-04-01", "2024-05-01"]


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "where"),
    [
        ("post", "/patients/P/visits", {"case": {"age_months": -1}, "date": "2024-01-01"}, 422, "age_months"),
        ("post", "/patients/P/visits", {"case": _case()}, 422, "date"),
        ("post", "/patients/P/treatments", {"agent": "tea", "start": "2024-01-01"}, 422, "agent"),
        ("post", "/patients/Jane Doe/relapses", {"date": "2024-01-01"}, 422, "patient"),
        ("get", "/patients/nobody", None, 404, "patient"),
        ("get", "/patients/nobody/timeline", None, 404, "patient"),
    ],
)  # fmt: skip
async def test_errors_are_problem_bodies(
    client: httpx.AsyncClient, method: str, path: str, payload: Any, status: int, where: str
) -> None:
    r = await client.request(method, BASE + path, json=payload)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["path"] == where
    assert (await client.get(f"{BASE}/audit")).json()["total"] == 0


@pytest.mark.parametrize("fmt", ["jsonl", "fhir"])
async def test_export_import_round_trip(
    client: httpx.AsyncClient,
    kb: KnowledgeBase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    await client.post(f"{BASE}/patients/E/visits", json={"case": _case(2), "date": "2024-01-01"})
    await client.post(
        f"{BASE}/patients/E/treatments", json={"agent": "acth", "start": "2024-01-02", "dose": "x"}
    )
    first = await client.get(f"{BASE}/export", params={"format": fmt})
    assert first.status_code == 200
    monkeypatch.setenv("OMSCDS_DATABASE_URL", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    other = _app(kb)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://t", headers=authkit.bearer()
    ) as c2:
        kind = "application/x-ndjson" if fmt == "jsonl" else "application/fhir+json"
        r = await c2.post(f"{BASE}/import", content=first.content, headers={"content-type": kind})
        assert r.status_code == 200, r.text
        assert r.json()["added"]["visit"] == 1
        second = await c2.get(f"{BASE}/export", params={"format": fmt})
        bad = await c2.post(f"{BASE}/import", content=b"{oops", headers={"content-type": kind})
    other.state.registry.close()
    assert second.content == first.content
    assert bad.status_code == (422 if fmt == "jsonl" else 400)  # a bad record; a bad body
    if fmt == "fhir":
        assert json.loads(first.content)["type"] == "collection"
