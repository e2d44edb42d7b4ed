"""Prefetch as the spec and the sandbox send it: OperationOutcomes, missing keys, open servers,
and the safety rules for the EHR's token (issue 12: next links, encoded ids)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest

from omscds.interop.cdshooks import CdsRequest, PrefetchError, gather_prefetch, run_hook
from omscds.interop.cdshooks.prefetch import same_server
from omscds.interop.cdshooks.services import PREFETCH

TODAY = dt.date(2026, 1, 10)
FHIR = "https://ehr.example.org/fhir"
CPT = "http://www.ama-assn.org/go/cpt"
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


class FakeServer:
    """An in-process FHIR server (httpx.MockTransport) that records every request."""

    def __init__(self, kit: Any, pid: str = "p1") -> None:
        self.seen: list[httpx.Request] = []
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        for r in kit.oms_child_resources(pid):
            self.by_type.setdefault(r["resourceType"], []).append(r)
        self.extra_link: str | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path.removeprefix("/fhir/")
        if path.startswith("Patient/"):
            pid = path.split("/", 1)[1]
            for p in self.by_type["Patient"]:
                if p["id"] == pid:
                    return httpx.Response(200, json=p)
            return httpx.Response(404, json=OUTCOME)
        rtype = path.split("?")[0]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in self.by_type.get(rtype, [])],
        }
        if self.extra_link and rtype == "Observation" and "page" not in str(request.url):
            bundle["link"] = [{"relation": "next", "url": self.extra_link}]
        return httpx.Response(200, json=bundle)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def _req(kit: Any, prefetch: dict[str, Any] | None, **extra: Any) -> CdsRequest:
    body = kit.hook_request("patient-view", prefetch)
    body.update(extra)
    return CdsRequest.model_validate(body)


def _gather(req: CdsRequest, server: FakeServer | None = None) -> Any:
    transport = server.transport if server else None
    return asyncio.run(gather_prefetch(req, PREFETCH, timeout=2, transport=transport))


def test_open_server_is_fetched_without_fhir_authorization(kit) -> None:
    server = FakeServer(kit)
    got = _gather(_req(kit, None, fhirServer=FHIR), server)
    assert got.data["patient"]["id"] == "p1" and not got.notes
    assert all("authorization" not in r.headers for r in server.seen)


def test_operation_outcome_in_prefetch_is_refetched(kit) -> None:
    server = FakeServer(kit)
    prefetch = kit.prefetch_for(kit.oms_child_resources())
    prefetch["observations"] = OUTCOME
    got = _gather(_req(kit, prefetch, fhirServer=FHIR), server)
    assert [r.url.path for r in server.seen] == ["/fhir/Observation"]
    assert len(got.data["observations"]["entry"]) == 5


def test_operation_outcome_without_a_server_is_said_on_the_card(kit, kb) -> None:
    prefetch = kit.prefetch_for(kit.oms_child_resources())
    prefetch["studies"] = OUTCOME
    prefetch.pop("reports")
    req = _req(kit, prefetch)
    got = _gather(req)
    assert any("studies" in n for n in got.notes)
    assert any("reports not available" in n for n in got.notes)
    resp = asyncio.run(run_hook("omscds-patient-view", req, kb, today=TODAY, fetch_timeout=1))
    [card] = resp.cards
    assert "missing or not understood" in (card.detail or "").split("\n")[0]


def test_no_patient_and_nowhere_to_fetch_it_is_412(kit) -> None:
    prefetch = kit.prefetch_for(kit.oms_child_resources())
    del prefetch["patient"]
    with pytest.raises(PrefetchError):
        _gather(_req(kit, prefetch))


def test_patient_id_is_url_encoded(kit) -> None:
    server = FakeServer(kit)
    req = _req(kit, None, fhirServer=FHIR)
    req.context["patientId"] = "../../admin/secret?x="
    got = _gather(req, server)
    assert got.data["patient"] is None  # a read that found nothing
    raw = [r.url.raw_path.decode() for r in server.seen]
    assert raw and all("/admin" not in p and p.startswith("/fhir/") for p in raw)


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        (f"{FHIR}/Observation?page=2", True),
        ("https://ehr.example.org:8443/fhir/Observation?page=2", False),
        ("https://ehr.example.org.attacker.net/fhir/Observation?page=2", False),
        ("http://ehr.example.org/fhir/Observation?page=2", False),
        ("https://ehr.example.org/admin/Observation?page=2", False),
    ],
)
def test_next_links_stay_on_the_fhir_server(kit, link: str, followed: bool) -> None:
    server = FakeServer(kit)
    server.extra_link = link
    auth = {
        "access_token": "ehr-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "omscds",
    }
    _gather(_req(kit, None, fhirServer=FHIR, fhirAuthorization=auth), server)
    urls = [str(r.url) for r in server.seen]
    assert (link in urls) is followed
    for r in server.seen:  # the token only ever goes to the FHIR server
        assert same_server(FHIR, str(r.url))
        assert r.headers["authorization"] == "Bearer ehr-token"


def test_cpt_coded_mibg_order_warns(kit, kb) -> None:
    for code in ("78801", "78832"):
        draft = kit.mibg_order()
        draft["entry"][0]["resource"]["code"] = {"coding": [{"system": CPT, "code": code}]}
        body = kit.hook_request(
            "order-select",
            kit.prefetch_for(kit.oms_child_resources()),
            draftOrders=draft,
            selections=["ServiceRequest/sr1"],
        )
        req = CdsRequest.model_validate(body)
        resp = asyncio.run(run_hook("omscds-order-select", req, kb, today=TODAY, fetch_timeout=1))
        [card] = resp.cards
        assert card.indicator == "warning" and len(card.summary) < 140


def test_one_card_with_readable_citations(kit, kb) -> None:
    req = _req(kit, kit.prefetch_for(kit.oms_child_resources()))
    resp = asyncio.run(run_hook("omscds-patient-view", req, kb, today=TODAY, fetch_timeout=1))
    [card] = resp.cards
    detail = card.detail or ""
    assert "hasegawa_2015" not in detail and "**Sources**" in detail
    assert "https://" in detail.split("**Sources**")[1]
    assert "**Alerts**" in detail  # the alerts are in the one card
    every = asyncio.run(
        run_hook("omscds-patient-view", req, kb, today=TODAY, fetch_timeout=1, one_card=False)
    )
    assert len(every.cards) > 1


@pytest.mark.parametrize(
    ("system", "code", "ordered"),
    [
        ("http://loinc.org", "11146-8", True),  # urine HVA by LOINC
        ("http://www.ama-assn.org/go/cpt", "84585", True),  # urine VMA by CPT
        ("http://www.ama-assn.org/go/cpt", "71250", False),  # CT chest: nothing to warn about
    ],
)
def test_order_codes(kb, system: str, code: str, ordered: bool) -> None:
    from omscds.interop.cdshooks.services import ordered_modalities
    from omscds.reasoning import reviewed_modalities

    sr = {"resourceType": "ServiceRequest", "code": {"coding": [{"system": system, "code": code}]}}
    assert bool(ordered_modalities(sr, kb.terminology, reviewed_modalities(kb))) is ordered


def test_a_hostile_fhir_server_cannot_crash_the_hook(kit) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/fhir/Patient/"):
            return httpx.Response(200, json=kit.oms_child_resources()[0])
        return httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)

    req = _req(kit, None, fhirServer=FHIR)
    got = asyncio.run(
        gather_prefetch(req, PREFETCH, timeout=2, transport=httpx.MockTransport(handler))
    )
    assert got.data["patient"]["id"] == "p1"
    assert sorted(n.split()[0] for n in got.notes) == [
        "conditions",
        "observations",
        "reports",
        "studies",
    ]
