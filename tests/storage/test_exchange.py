from __future__ import annotations

import io
import json
from typing import Any

import pytest

from omscds.errors import InputError
from omscds.interop.fhir.registry import bundle_to_records, records_to_bundle
from omscds.storage import Registry
from omscds.storage.exchange import import_records, iter_records, read_jsonl, write_jsonl


def _fill(reg: Registry, build: Any) -> None:
    reg.add_patient("F-1", {"hospital": "H-9"})
    reg.add_visit("F-1", build.visit(11, build.negative_search("2024-01-02")), "2024-01-03")
    reg.add_visit("F-1", build.visit(6), "2024-05-03")
    reg.add_treatment("F-1", "acth", "2024-01-04", "2024-04-01", dose="as per protocol")
    reg.add_treatment("F-1", "tumour_resection", "2024-02-01", note="left adrenal")
    reg.add_relapse("F-1", "2024-09-01", note="after a viral illness")
    reg.add_visit("F-2", build.visit(), "2023-12-12")


def _jsonl(reg: Registry) -> str:
    out = io.StringIO()
    write_jsonl(reg, out)
    return out.getvalue()


def test_jsonl_round_trip_is_lossless(
    registry: Registry, other_registry: Registry, build: Any
) -> None:
    _fill(registry, build)
    first = _jsonl(registry)
    other = other_registry
    summary = import_records(other, read_jsonl(first.splitlines()))
    assert summary.added == {
        "patient": 2,
        "visit": 3,
        "treatment": 2,
        "relapse": 1,
        "assessment": 3,
    }
    assert _jsonl(other) == first
    again = import_records(other, read_jsonl(first.splitlines()))
    assert sum(again.added.values()) == 0 and sum(again.skipped.values()) == 11
    assert _jsonl(other) == first


def test_fhir_round_trip_is_lossless(
    registry: Registry, other_registry: Registry, build: Any
) -> None:
    _fill(registry, build)
    bundle = records_to_bundle(iter_records(registry))
    assert bundle["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    for kind in ("Patient", "Encounter", "Observation", "MedicationStatement", "Procedure"):
        assert kind in kinds
    assert "Condition" in kinds and "Basic" in kinds
    text = json.dumps(bundle)
    other = other_registry
    import_records(other, bundle_to_records(json.loads(text)))
    assert records_to_bundle(iter_records(other)) == bundle
    assert _jsonl(other) == _jsonl(registry)


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ("{not json", "line 2"),
        ('{"type": "visit", "uid": "u1", "patient": "F", "date": "2024-01-01", '
         '"created_at": "x", "case": {"age_months": "old"}}', "line 2: case.age_months"),
        ('{"type": "treatment", "uid": "u2", "patient": "F", "agent": "homeopathy", '
         '"start": "2024-01-01", "created_at": "x"}', "line 2: agent"),
        ('{"type": "relapse", "uid": "u3", "patient": "F", "date": "soon", "created_at": "x"}',
         "line 2: date"),
        ('{"type": "visit", "uid": "u4", "patient": "nobody", "date": "2024-01-01", '
         '"created_at": "x", "case": {"age_months": 3}}', "line 2: patient"),
        ('{"type": "gossip", "created_at": "x"}', "line 2: type"),
        ('{"type": "patient", "key": "Jane Doe", "created_at": "x"}', "line 2: key"),
        # strict JSON (omscds.model.strict): nothing that silently changes meaning
        ('{"type": "relapse", "type": "visit", "created_at": "x"}', "line 2: type"),
        ('{"type": "visit", "uid": "u5", "patient": "F", "date": "2024-01-01", '
         '"created_at": "x", "case": {"age_months": NaN}}', "line 2: case.age_months"),
        ('{"type": "visit", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "line 2"),
        ('{"type": "visit", "severity_total": 1' + "0" * 5000 + "}", "line 2"),
    ],
)  # fmt: skip
def test_bad_import_names_the_line_and_writes_nothing(
    registry: Registry, line: str, path: str
) -> None:
    head = '{"type": "patient", "key": "F", "external_ids": {}, "created_at": "2024-01-01"}'
    with pytest.raises(InputError) as err:
        import_records(registry, read_jsonl([head, line]))
    assert str(err.value).startswith(path)
    assert registry.list_patients().total == 0
    assert registry.audit().total == 0


def test_fhir_import_rejects_non_bundles() -> None:
    with pytest.raises(InputError, match="Bundle"):
        bundle_to_records({"resourceType": "Patient"})
