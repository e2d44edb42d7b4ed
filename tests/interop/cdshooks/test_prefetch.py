"""Prefetch as the spec and the sandbox send it: OperationOutcomes, missing keys, open servers,
and the safety rules for the EHR's token (issue 12: next links, encoded ids)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest

from omscds.interfaces.service import run_hook
from omscds.interop.cdshooks import (
    CdsRequest,
    FhirServers,
    PrefetchError,
    gather_prefetch,
)
from omscds.interop.cdshooks.prefetch import same_server
from omscds.interop.cdshooks.services import PREFETCH

TODAY = dt.date(2026, 1, 10)
FHIR = "https://ehr.example.org/fhir"
CPT = "http://www.ama-assn.org/go/cpt"
#: the operator's allow-list: the test FHIR server, for any caller
SERVERS = FhirServers.parse({"*": [FHIR]})
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


def _gather(
    req: CdsRequest,
    server: FakeServer | None = None,
    servers: FhirServers = SERVERS,
    issuer: str | None = None,
) -> Any:
    transport = server.transport if server else None
    return asyncio.run(
        gather_prefetch(
            req, PREFETCH, timeout=2, transport=transport, servers=servers, issuer=issuer
        )
    )


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


HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
MIBG_ORDER_CODES = [
    *((CPT, code) for code in ("78800", "78801", "78802", "78803", "78804")),
    *((CPT, code) for code in ("78830", "78831", "78832")),
    (HCPCS, "A9582"),  # the I-123 iobenguane dose
    ("urn:oid:2.16.840.1.113883.6.12", "78802"),  # CPT by its OID
]


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize(("system", "code"), MIBG_ORDER_CODES)
def test_standard_coded_mibg_order_warns(kit, kb, hook: str, system: str, code: str) -> None:
    draft = kit.mibg_order()
    draft["entry"][0]["resource"]["code"] = {"coding": [{"system": system, "code": code}]}
    body = kit.hook_request(
        hook,
        kit.prefetch_for(kit.oms_child_resources()),
        draftOrders=draft,
        **({"selections": ["ServiceRequest/sr1"]} if hook == "order-select" else {}),
    )
    req = CdsRequest.model_validate(body)
    resp = asyncio.run(run_hook(f"omscds-{hook}", req, kb, today=TODAY, fetch_timeout=1))
    [card] = resp.cards
    assert card.indicator == "warning" and len(card.summary) < 140
    assert "MIBG" in card.summary


@pytest.mark.parametrize("code", ["78306", "78814"])  # a bone scan, a PET: not checked
def test_other_nuclear_medicine_orders_get_no_card(kit, kb, code: str) -> None:
    draft = kit.mibg_order()
    draft["entry"][0]["resource"]["code"] = {"coding": [{"system": CPT, "code": code}]}
    body = kit.hook_request(
        "order-sign", kit.prefetch_for(kit.oms_child_resources()), draftOrders=draft
    )
    req = CdsRequest.model_validate(body)
    resp = asyncio.run(run_hook("omscds-order-sign", req, kb, today=TODAY, fetch_timeout=1))
    assert resp.cards == []


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
        gather_prefetch(
            req, PREFETCH, timeout=2, transport=httpx.MockTransport(handler), servers=SERVERS
        )
    )
    assert got.data["patient"]["id"] == "p1"
    assert sorted(n.split()[0] for n in got.notes) == [
        "conditions",
        "observations",
        "reports",
        "studies",
    ]


TOKEN = {
    "access_token": "ehr-token",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "omscds",
}


@pytest.mark.parametrize(
    "fhir_server",
    [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata: classic SSRF
        "https://attacker.example/fhir",
        "https://ehr.example.org.attacker.example/fhir",
        "https://ehr.example.org/fhirx",  # not under the allowed path
        "https://ehr.example.org/fhir/../admin",  # dot segments resolve outside it
        "https://ehr.example.org/fhir/%2e%2e/admin",
        "https://user:pw@ehr.example.org/fhir",
        "http://ehr.example.org/fhir",  # another scheme
        "https://ehr.example.org:8443/fhir",  # another port
        "file:///etc/passwd",
    ],
)
def test_a_fhir_server_off_the_allow_list_is_never_contacted(kit, fhir_server: str) -> None:
    server = FakeServer(kit)
    prefetch = kit.prefetch_for(kit.oms_child_resources())
    del prefetch["observations"]
    req = _req(kit, prefetch, fhirServer=fhir_server, fhirAuthorization=TOKEN)
    got = _gather(req, server)
    assert server.seen == []  # no request at all, so the token went nowhere
    assert got.notes == [
        "observations not available: not prefetched, and fhirServer is not on this "
        "service's allow-list"
    ]


def test_no_allow_list_fetches_nothing(kit) -> None:
    server = FakeServer(kit)
    req = _req(kit, None, fhirServer=FHIR, fhirAuthorization=TOKEN)
    with pytest.raises(PrefetchError, match="allow-list"):
        _gather(req, server, servers=FhirServers())
    assert server.seen == []


def test_allow_list_per_issuer(kit) -> None:
    servers = FhirServers.parse({"https://ehr.example.org": [FHIR]})
    req = _req(kit, None, fhirServer=FHIR + "/", fhirAuthorization=TOKEN)
    server = FakeServer(kit)
    got = _gather(req, server, servers=servers, issuer="https://ehr.example.org")
    assert got.data["patient"]["id"] == "p1" and server.seen
    assert all(r.headers["authorization"] == "Bearer ehr-token" for r in server.seen)
    other = FakeServer(kit)
    with pytest.raises(PrefetchError):  # another trusted issuer may not name this server
        _gather(req, other, servers=servers, issuer="https://other-ehr.example")
    with pytest.raises(PrefetchError):  # nor may an unauthenticated caller
        _gather(req, other, servers=servers, issuer=None)
    assert other.seen == []


@pytest.mark.parametrize(
    "bad", ["ftp://ehr.example/fhir", "https://ehr.example/fhir?x=1", "https://u:p@ehr.example"]
)
def test_allow_list_entries_must_be_base_urls(bad: str) -> None:
    from omscds.errors import InputError

    with pytest.raises(InputError, match="base URL"):
        FhirServers.parse({"*": [bad]})


def test_next_link_with_dot_segments_is_not_followed(kit) -> None:
    server = FakeServer(kit)
    server.extra_link = f"{FHIR}/../admin/Observation?page=2"
    _gather(_req(kit, None, fhirServer=FHIR, fhirAuthorization=TOKEN), server)
    assert all(r.url.path.startswith("/fhir/") for r in server.seen)
