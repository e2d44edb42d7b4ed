"""``_Out.build`` gives the same objects as pydantic's ``model_construct`` for every output class."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment
from omscds.model import assessment as out
from omscds.reasoning import assess_data

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))


def _objects(value: Any) -> list[BaseModel]:
    found: list[BaseModel] = []
    if isinstance(value, BaseModel):
        found.append(value)
        for name in type(value).model_fields:
            found.extend(_objects(getattr(value, name)))
    elif isinstance(value, tuple | list):
        for v in value:
            found.extend(_objects(v))
    elif isinstance(value, dict):
        for v in value.values():
            found.extend(_objects(v))
    return found


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_build_equals_model_construct(example: Path, kb: KnowledgeBase) -> None:
    a = assess_data(json.loads(example.read_text()), kb)
    objects = _objects(a)
    assert len({type(o) for o in objects}) >= 6
    for obj in objects:
        cls = type(obj)
        given = {k: getattr(obj, k) for k in obj.model_fields_set}
        ref = cls.model_construct(**given)
        built = cls.build(**given)  # type: ignore[attr-defined]
        assert built == ref
        assert built.model_dump(mode="json") == ref.model_dump(mode="json")
        assert built.model_fields_set == ref.model_fields_set
    # and the whole assessment validates against the contract
    Assessment.model_validate(a.model_dump(mode="json"))


def test_build_fills_defaults_and_factories() -> None:
    t = out.TumourResult.build(
        status="not_applicable",
        probability=0.1,
        interval=(0.0, 0.2),
        prior=0.1,
        searched_regions={"neck": None, "chest": None, "abdomen": None, "pelvis": None},
    )
    assert t.region_probabilities == {} and t.next_tests == () and t.population == "child"
    other = out.TumourResult.build(**{k: getattr(t, k) for k in t.model_fields_set})
    assert other.region_probabilities is not t.region_probabilities  # a fresh dict each time
