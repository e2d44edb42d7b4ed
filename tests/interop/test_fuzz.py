"""Type confusion: mutated Bundles through ``$assess`` and CDS prefetch give 4xx, never 5xx."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from omscds.errors import OmscdsError
from omscds.interfaces.api import Settings, create_app
from omscds.interfaces.service import run_hook
from omscds.interop.cdshooks import CdsRequest
from omscds.interop.fhir import bundle_to_case
from omscds.model import parse_case
from omscds.reasoning import assess
from tests.interfaces import authkit

TODAY = dt.date(2026, 1, 10)
SCT = "http://snomed.info/sct"

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["Patient", "final", "2024-01-01", "HP:0010543", "Observation/o1"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _resources(kit: Any) -> list[dict[str, Any]]:
    return [
        *kit.oms_child_resources(),
        {
            "resourceType": "Condition",
            "id": "c1",
            "code": {"coding": [{"system": SCT, "code": "432328008"}]},
            "verificationStatus": {"coding": [{"code": "confirmed"}]},
            "clinicalStatus": {"coding": [{"code": "active"}]},
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "d1",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2"}]},
            "imagingStudy": [{"reference": "ImagingStudy/s1"}],
            "conclusionCode": [{"coding": [{"system": SCT, "code": "17621005"}]}],
            "extension": [
                {"url": kit.REGION_EXT, "valueCodeableConcept": {"coding": [{"code": "x"}]}}
            ],
            "effectiveDateTime": "2026-01-03",
        },
        {
            "resourceType": "ImagingStudy",
            "id": "s1",
            "status": "available",
            "procedureCode": [
                {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "71250"}]}
            ],
            "series": [
                {
                    "uid": "1",
                    "modality": {"code": "CT"},
                    "bodySite": {"system": SCT, "code": "67734004"},
                }
            ],
            "started": "2026-01-03",
        },
        {
            "resourceType": "Procedure",
            "id": "pr1",
            "status": "completed",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "78802"}]},
            "bodySite": [{"coding": [{"system": SCT, "code": "38266002"}]}],
            "performedPeriod": {"start": "2026-01-04"},
        },
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "x"}]},
    ]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(doc: Any, data: st.DataObject, n: int) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(n):
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.integers(0, 3)) == 0:
            del parent[path[-1]]  # a missing element, not only a wrong one
        else:
            parent[path[-1]] = data.draw(_json)
    return doc


FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_N", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data(), n=st.integers(min_value=1, max_value=4))
def test_mutated_bundles_never_crash_the_reader(kb, kit, data: st.DataObject, n: int) -> None:
    bundle = _mutate(kit.searchset(_resources(kit)), data, n)
    try:
        ex = bundle_to_case(bundle, kb, today=TODAY)
        assess(parse_case(ex.case), kb)
    except OmscdsError:
        pass  # a clear 4xx


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(min_value=1, max_value=3))
def test_mutated_bundles_through_assess_are_4xx_at_worst(kit, data: st.DataObject, n: int) -> None:
    bundle = _mutate(kit.searchset(_resources(kit)), data, n)
    app = create_app(authkit.settings(public_base_url="http://127.0.0.1:8000"))
    with TestClient(app, headers=authkit.bearer()) as client:
        r = client.post("/fhir/$assess", json=bundle)
    assert r.status_code < 500, r.text[:300]


@FUZZ
@given(data=st.data(), n=st.integers(min_value=1, max_value=4))
def test_mutated_prefetch_never_crashes_a_hook(kb, kit, data: st.DataObject, n: int) -> None:
    body = kit.hook_request(
        "order-select",
        kit.prefetch_for(_resources(kit)[:-1]),
        draftOrders=kit.mibg_order(),
        selections=["ServiceRequest/sr1"],
    )
    body = _mutate(body, data, n)
    try:
        req = CdsRequest.model_validate(body)
    except ValidationError:
        return  # the route answers 400
    # a clear 4xx at worst; anything else (TypeError, KeyError, ValueError ...) fails the test
    with contextlib.suppress(OmscdsError):
        asyncio.run(run_hook("omscds-order-select", req, kb, today=TODAY, fetch_timeout=0.01))


def test_hostile_json_is_a_400_on_fhir_and_cds(kit) -> None:
    app = create_app(authkit.settings(public_base_url="http://127.0.0.1:8000", insecure_dev=True))
    deep = "[" * 100_000 + "]" * 100_000
    bodies = [
        deep,
        '{"resourceType": "Bundle", "resourceType": "Patient"}',
        '{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "x": NaN}}]}',
        '{"resourceType": "Bundle", "total": 1' + "0" * 5000 + "}",
    ]
    with TestClient(app, headers=authkit.bearer()) as client:
        for body in bodies:
            for url in ("/fhir/$assess", "/cds-services/omscds-patient-view"):
                r = client.post(url, content=body, headers={"content-type": "application/json"})
                assert r.status_code == 400, (url, body[:40], r.text[:200])
                assert r.json()["resourceType"] == "OperationOutcome"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(min_value=1, max_value=3))
def test_mutated_hook_bodies_are_4xx_at_worst(kit, data: st.DataObject, n: int) -> None:
    body = kit.hook_request(
        "order-sign",
        kit.prefetch_for(_resources(kit)[:-1]),
        draftOrders=kit.mibg_order(),
    )
    body = _mutate(body, data, n)
    app = create_app(Settings(public_base_url="http://127.0.0.1:8000", insecure_dev=True))
    with TestClient(app) as client:
        r = client.post("/cds-services/omscds-order-sign", json=body)
        assert r.status_code < 500, r.text[:300]
        fb = _mutate(
            {
                "feedback": [
                    {
                        "card": "c",
                        "outcome": "overridden",
                        "overrideReason": {"userComment": "x"},
                        "outcomeTimestamp": "2026-01-10T09:00:00Z",
                    }
                ]
            },
            data,
            1,
        )
        r = client.post("/cds-services/omscds-order-sign/feedback", json=fb)
        assert r.status_code < 500, r.text[:300]
