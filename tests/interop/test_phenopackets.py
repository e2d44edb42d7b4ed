from __future__ import annotations

from typing import Any

import pytest

from omscds.errors import InputError, InteropError
from omscds.interop.phenopackets import iso8601_months, phenopacket_to_case
from omscds.model import parse_case


def _packet(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "pp-1",
        "subject": {
            "id": "s",
            "sex": "MALE",
            "timeAtLastEncounter": {"age": {"iso8601duration": "P1Y7M"}},
        },
        "phenotypicFeatures": [
            {"type": {"id": "HP:0010543", "label": "Opsoclonus"}},
            {"type": {"id": "HP:0001336"}, "excluded": True},
        ],
        "metaData": {"phenopacketSchemaVersion": "2.0"},
    }
    doc.update(over)
    return doc


def test_features_and_age(kb) -> None:
    case = phenopacket_to_case(_packet(), kb)
    assert case == {
        "age_months": 19.0,
        "sex": "male",
        "case_id": "pp-1",
        "findings": {"opsoclonus": "present", "myoclonus": "absent"},
    }
    parse_case(case)


@pytest.mark.parametrize(
    ("text", "months"), [("P2Y", 24.0), ("P3M", 3.0), ("P1Y6M", 18.0), ("P61D", 2.0)]
)
def test_durations(text: str, months: float) -> None:
    assert iso8601_months(text) == months


@pytest.mark.parametrize(
    ("over", "err", "path"),
    [
        (
            {"phenotypicFeatures": [{"type": {"id": "HP:9999999"}}]},
            InputError,
            "phenotypicFeatures[0].type.id",
        ),
        (
            {"subject": {"timeAtLastEncounter": {"age": {"iso8601duration": "19 months"}}}},
            InteropError,
            "subject.timeAtLastEncounter",
        ),
        ({"subject": None}, InteropError, "subject"),
    ],
)
def test_bad_packets(kb, over: dict[str, Any], err: type[Exception], path: str) -> None:
    with pytest.raises(err) as exc:
        phenopacket_to_case(_packet(**over), kb)
    assert exc.value.path == path  # type: ignore[attr-defined]
