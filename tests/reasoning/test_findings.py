from __future__ import annotations

import pytest

from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case
from omscds.reasoning import resolve


def _rc(kb: KnowledgeBase, **kw: object):  # type: ignore[no-untyped-def]
    return resolve(parse_case({"age_months": 20, **kw}), kb)


def test_hpo_descendant_present_makes_finding_present(kb: KnowledgeBase) -> None:
    rc = _rc(kb, findings={"HP:0002066": "present"})
    assert rc.present("ataxia")
    assert rc.evidence["ataxia"] == ("findings.HP:0002066",)


def test_absent_descendant_does_not_make_parent_absent(kb: KnowledgeBase) -> None:
    rc = _rc(kb, findings={"HP:0002066": "absent"})
    assert rc.state("ataxia") == "unknown"
    assert rc.warnings and "narrower term" in rc.warnings[0]


def test_name_and_hpo_id_conflict_is_an_error(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        _rc(kb, findings={"ataxia": "present", "HP:0001251": "absent"})
    assert info.value.path == "findings.HP:0001251"
    assert "contradicts findings.ataxia" in info.value.message


def test_unknown_key_and_unrelated_hpo_term(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        _rc(kb, findings={"wobbly": "present", "HP:0000098": "present"})
    paths = [p for p, _ in info.value.errors]
    assert paths == ["findings.wobbly", "findings.HP:0000098"]


def test_unknown_test_finding_and_severity_item(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as info:
        _rc(
            kb,
            tests=[
                {
                    "modality": "mri",
                    "regions": ["brain"],
                    "result": "positive",
                    "findings": ["cerebellar_atropy"],
                }
            ],
            severity={"scale": "mitchell_pike", "items": {"gait": 4, "walk": 1}},
        )
    paths = [p for p, _ in info.value.errors]
    assert paths == ["tests[0].findings[0]", "severity.items.gait", "severity.items.walk"]


def test_unknown_severity_scale(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="is not one of mitchell_pike"):
        _rc(kb, severity={"scale": "pranzatelli", "items": {}})
