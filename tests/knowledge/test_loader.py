from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from omscds.errors import KnowledgeError
from omscds.knowledge import ASSUMPTION, KnowledgeBase, load_knowledge
from omscds.knowledge.loader import DATA_DIR
from tests.knowledge.tiny import TINY, write_tiny


def test_tiny_knowledge_base_loads_and_is_frozen(tmp_path: Path) -> None:
    kb = load_knowledge(write_tiny(tmp_path))
    assert kb.version == "0.0.1"
    assert kb.finding_key("HP:0002066") == "ataxia"  # a descendant counts as the finding
    with pytest.raises(TypeError):
        kb.findings["x"] = kb.findings["ataxia"]  # type: ignore[index]
    with pytest.raises(ValidationError):
        kb.manifest.version = "2"  # type: ignore[misc]


def test_checksum_changes_with_any_fact(tmp_path: Path) -> None:
    a = load_knowledge(write_tiny(tmp_path / "a"))
    changed = copy.deepcopy(TINY["parameters.yaml"])
    changed["parameters"][0]["value"] = 200
    b = load_knowledge(write_tiny(tmp_path / "b", **{"parameters.yaml": changed}))
    assert a.sha256 != b.sha256
    assert re.fullmatch(r"[0-9a-f]{64}", a.sha256)


def test_unknown_source_is_rejected(tmp_path: Path) -> None:
    bad = copy.deepcopy(TINY["findings.yaml"])
    bad["findings"][0]["source"] = ["nobody_2099"]
    with pytest.raises(KnowledgeError, match="unknown source id 'nobody_2099'"):
        load_knowledge(write_tiny(tmp_path, **{"findings.yaml": bad}))


def test_assumption_needs_reasoning(tmp_path: Path) -> None:
    bad = copy.deepcopy(TINY["findings.yaml"])
    bad["findings"][0]["source"] = ASSUMPTION
    with pytest.raises(KnowledgeError, match="reasoning"):
        load_knowledge(write_tiny(tmp_path, **{"findings.yaml": bad}))


def test_prior_range_must_be_ordered(tmp_path: Path) -> None:
    bad = copy.deepcopy(TINY["priors.yaml"])
    bad["priors"][0]["low"] = 0.9
    with pytest.raises(KnowledgeError, match="low <= point <= high"):
        load_knowledge(write_tiny(tmp_path, **{"priors.yaml": bad}))


@pytest.mark.parametrize("broken", ["findings: [", "just a string"])
def test_malformed_file_names_the_file(tmp_path: Path, broken: str) -> None:
    d = write_tiny(tmp_path)
    (d / "findings.yaml").write_text(broken)
    with pytest.raises(KnowledgeError, match=r"findings\.yaml"):
        load_knowledge(d)


def test_missing_directory() -> None:
    with pytest.raises(KnowledgeError, match="not found"):
        load_knowledge("/nonexistent/kb")


def test_every_shipped_fact_cites_a_known_source(kb: KnowledgeBase) -> None:
    facts = list(kb.cited_facts())
    assert len(facts) > 150
    for where, fact in facts:
        assert fact.source, where
        for sid in fact.source:
            assert sid == ASSUMPTION or sid in kb.sources, (where, sid)
        if fact.is_assumption:
            assert fact.reasoning and len(fact.reasoning) > 20, where


def test_shipped_prior_carries_literature_range(kb: KnowledgeBase) -> None:
    child = next(p for p in kb.priors if p.id == "child_oms")
    # the spread of the cohorts (Pohl 3/54 .. Banerjee 7/8), review point 1
    assert (child.low, child.point, child.high) == (0.06, 0.5, 0.88)
    assert {"pranzatelli_2017", "pohl_1996", "banerjee_2022"} <= set(child.source)


def test_hpo_descendants_are_generated_with_release(kb: KnowledgeBase) -> None:
    assert kb.manifest.hpo_release
    assert kb.finding_key("HP:0002066") == "ataxia"  # Gait ataxia
    assert kb.finding_key("HP:0000737") == "irritability"  # own term beats Atypical behavior
    assert (DATA_DIR / "hpo_descendants.yaml").exists()


def test_severity_descriptors_are_marked_unconfirmed(kb: KnowledgeBase) -> None:
    mp = kb.severity_scales["mitchell_pike"]
    assert [i.id for i in mp.items] == [
        "stance",
        "gait",
        "arm_hand_function",
        "opsoclonus",
        "mood_behaviour",
        "speech",
    ]
    assert mp.total_max == 18
    assert not any(i.descriptors_confirmed for i in mp.items)
    assert mp.is_assumption


def test_the_shipped_knowledge_base_describes_every_contract_modality() -> None:
    from omscds.model import MODALITIES

    kb = load_knowledge()
    assert set(kb.modalities) == set(MODALITIES)
    for m in kb.modalities.values():
        if m.regions_required:
            assert not m.default_regions, m.id


def test_a_modality_outside_the_contract_is_refused(tmp_path: Path) -> None:
    import pytest

    from omscds.errors import KnowledgeError
    from omscds.model import parse_case
    from omscds.reasoning import resolve
    from tests.knowledge.tiny import TINY, write_tiny

    mods = dict(TINY["modalities.yaml"])
    mods["modalities"] = [*mods["modalities"], {"id": "tarot", "label": "Tarot", "kind": "other"}]
    kb = load_knowledge(write_tiny(tmp_path, **{"modalities.yaml": mods}))
    with pytest.raises(KnowledgeError, match="tarot"):
        resolve(parse_case({"age_months": 10}), kb)


def _copy_kb(tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(DATA_DIR, tmp_path / "kb")
    return tmp_path / "kb"


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "pathway.yaml",
            "{rule: staging_workup}",
            "{rule: staging_wrkup}",
            "unknown rule 'staging_wrkup'",
        ),
        (
            "pathway.yaml",
            "when_all: [functional_positive]",
            "when_all: [functional_postive]",
            "unknown fact 'functional_postive'",
        ),
        (
            "recommendations.yaml",
            "when_all: [ddx_ataxia_telangiectasia]",
            "when_all: [ddx_ataxia_telangiectasa]",
            "unknown fact",
        ),
        ("pathway.yaml", "        - {rule: eeg_epilepsy}\n", "", "rules no phase owns"),
        (
            "pathway.yaml",
            "modalities: [mibg, urine_catecholamines, ultrasound, chest_xray]",
            "modalities: [mibg, ct]",
            "['ct'] complete the search themselves",
        ),
        (
            "pathway.yaml",
            "modalities: [mibg, urine_catecholamines, ultrasound, chest_xray]",
            "modalities: [mibg, mibj]",
            "unknown modalities ['mibj']",
        ),
        (
            "differential.yaml",
            "explained_by: bpv_clinical_review",
            "explained_by: nothing_here",
            "unknown rule 'nothing_here'",
        ),
        (
            "facts.yaml",
            "when_none: [duration_beyond_aca_course, tumour_seen]",
            "when_none: [duration_beyond_aca_course, tumour_sen]",
            "unknown fact 'tumour_sen'",
        ),
    ],
)
def test_the_pathway_and_every_rule_name_are_checked_on_load(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    root = _copy_kb(tmp_path)
    path = root / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        load_knowledge(root)
