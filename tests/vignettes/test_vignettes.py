"""Golden vignettes: input case -> expected key outputs (tests/vignettes/*.json).

Every recommendation rule and alert of the knowledge base must be shown firing in one vignette
and not firing in another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data

HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "examples"
VIGNETTES = {p.stem: json.loads(p.read_text()) for p in sorted(HERE.glob("*.json"))}


def _case(doc: dict[str, Any]) -> dict[str, Any]:
    """The vignette's own case, or the bundled example it names."""
    if "example" in doc:
        case: dict[str, Any] = json.loads((EXAMPLES / doc["example"]).read_text())
        return case
    return dict(doc["case"])


@pytest.mark.parametrize("name", sorted(VIGNETTES))
def test_vignette(name: str, kb: KnowledgeBase) -> None:
    doc = VIGNETTES[name]
    a = assess_data(_case(doc), kb)
    e: dict[str, Any] = doc["expect"]
    rec_ids = [r.id for r in a.recommendations]
    alert_ids = [x.id for x in a.alerts]
    if "oms_status" in e:
        assert a.oms.status == e["oms_status"]
    if "tumour_status" in e:
        assert a.tumour.status == e["tumour_status"]
    if "probability_between" in e:
        lo, hi = e["probability_between"]
        assert lo <= a.tumour.probability <= hi
    if "uncovered" in e:
        assert [r for r, by in a.tumour.searched_regions.items() if by is None] == e["uncovered"]
    for rid in e.get("recommendations_include", []):
        assert rid in rec_ids, (rid, rec_ids)
    for rid in e.get("recommendations_exclude", []):
        assert rid not in rec_ids, (rid, rec_ids)
    for aid in e.get("alerts_include", []):
        assert aid in alert_ids, (aid, alert_ids)
    for aid in e.get("alerts_exclude", []):
        assert aid not in alert_ids, (aid, alert_ids)
    if "differential_top" in e:
        assert a.differential[0].condition == e["differential_top"]
    if "differential_in_top3" in e:
        assert e["differential_in_top3"] in [d.condition for d in a.differential[:3]]
    for cond, text in e.get("differential_atypical", {}).items():
        entry = next(d for d in a.differential if d.condition == cond)
        assert any(text in s for s in entry.atypical)
    if "first_recommendation_kind" in e:
        assert a.recommendations[0].kind == e["first_recommendation_kind"]
    if "prior_id" in e:
        assert a.tumour.prior_id == e["prior_id"]
    if "severity_total" in e:
        assert a.severity is not None and a.severity.total == e["severity_total"]
    p = a.pathway
    assert p is not None
    if "pathway_phase" in e:
        assert p.phase == e["pathway_phase"], (p.phase, p.why)
    if "pathway_branch" in e:
        assert p.branch == e["pathway_branch"]
    if "pathway_reopened" in e:
        assert p.reopened is e["pathway_reopened"]
    if "uncovered_now" in e:
        assert list(p.uncovered) == e["uncovered_now"]
    conditional = [s.rule for s in p.steps if s.status == "conditional"]
    for rid in e.get("conditional_include", []):
        assert rid in conditional, (rid, conditional)
    for rid in e.get("conditional_exclude", []):
        assert rid not in conditional, (rid, conditional)
    if "first_id" in e:
        assert rec_ids[0] == e["first_id"], rec_ids
    if "warnings_contain" in e:
        assert any(e["warnings_contain"] in w for w in a.warnings), a.warnings
    nexts = [t.modality for t in a.tumour.next_tests]
    for m in e.get("next_tests_include", []):
        assert m in nexts, (m, nexts)
    for m in e.get("next_tests_exclude", []):
        assert m not in nexts, (m, nexts)
    if "next_first" in e:
        assert nexts and nexts[0] == e["next_first"], nexts
    if e.get("no_paediatric"):
        texts = " ".join(r.title + " " + r.rationale for r in a.recommendations).lower()
        assert "paediatric" not in texts and "neuroblastoma" not in texts, texts
    if e.get("equivocal_lr_one"):
        eq = [ev for ev in a.tumour.evidence if ev.result == "equivocal"]
        assert eq and all(ev.likelihood_ratio == 1.0 for ev in eq)


def test_every_bundled_example_has_a_vignette_with_the_clinicians_advice() -> None:
    named = {d["example"] for d in VIGNETTES.values() if "example" in d}
    assert {p.name for p in EXAMPLES.glob("*.json")} <= named
    for doc in VIGNETTES.values():
        if "example" in doc or doc["description"].startswith(("Pathway", "pathway")):
            assert doc.get("clinician"), doc["description"]


def test_every_phase_and_branch_is_shown(kb: KnowledgeBase) -> None:
    assert kb.pathway is not None
    phases = {e["expect"].get("pathway_phase") for e in VIGNETTES.values()}
    branches = {e["expect"].get("pathway_branch", "child") for e in VIGNETTES.values()}
    assert {ph.id for ph in kb.pathway.phases} <= phases
    assert {b.id for b in kb.pathway.branches} <= branches


def test_every_rule_is_shown_firing_and_not_firing(kb: KnowledgeBase) -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for doc in VIGNETTES.values():
        e = doc["expect"]
        fired.update(e.get("recommendations_include", []) + e.get("alerts_include", []))
        silent.update(e.get("recommendations_exclude", []) + e.get("alerts_exclude", []))
        fired.update(e.get("conditional_include", []))
    rules = {r.id for r in kb.recommendations} | {a.id for a in kb.alerts}
    assert rules - fired == set(), "rules never shown firing"
    assert rules - silent == set(), "rules never shown silent"
