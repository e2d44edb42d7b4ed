"""Golden vignettes of the staging and PNS-Care outputs (issue 14): every INRGSS stage, every
INRG pretreatment group row, COG 2021 high and low examples, the two seed tumours with what is
missing, PNS-Care at each level. The keys ``staging`` and ``pns_care`` of a vignette's
``expect`` are checked here; the rest by ``test_vignettes.py``."""

from __future__ import annotations

from typing import Any

import pytest
from tests.vignettes.test_vignettes import VIGNETTES, _case

from omscds.knowledge import KnowledgeBase
from omscds.reasoning import assess_data

STAGED = sorted(n for n, d in VIGNETTES.items() if "staging" in d["expect"])
SCORED = sorted(n for n, d in VIGNETTES.items() if "pns_care" in d["expect"])


@pytest.mark.parametrize("name", STAGED)
def test_staging_vignette(name: str, kb: KnowledgeBase) -> None:
    a = assess_data(_case(VIGNETTES[name]), kb)
    e: dict[str, Any] = VIGNETTES[name]["expect"]["staging"]
    s = a.staging
    assert s is not None
    parts = {"stage": s.stage, "inrg_group": s.inrg_group, "inrg_risk": s.inrg_risk}
    parts["cog_risk"] = s.cog_risk
    for key, c in parts.items():
        if key in e:
            assert c.result == e[key], (key, c.explanation)
        if f"{key}_possible" in e:
            assert list(c.possible) == e[f"{key}_possible"], (key, c.explanation)
    if "stage_rule" in e:
        assert s.stage.rule == e["stage_rule"]
    if "cog_rule" in e:
        assert s.cog_risk.rule == e["cog_rule"], s.cog_risk.explanation
    if "inrg_assumption" in e:
        assert s.inrg_group.assumption is e["inrg_assumption"]
        assert bool(s.inrg_group.assumption_note) is e["inrg_assumption"]
    if "idrf_count" in e:
        assert s.idrf_count == e["idrf_count"]
    missing = {m for c in parts.values() for m in c.missing}
    for var in e.get("missing_include", []):
        assert var in missing, (var, missing)
    if "workup_missing" in e:
        assert [w.id for w in s.workup if w.status == "missing"] == e["workup_missing"]
    for pid in e.get("practice_include", []):
        assert pid in [p.id for p in s.practice]
    # never a definite answer while a deciding input is unknown, and the summary says it all
    for c in parts.values():
        assert (c.result is None) == bool(c.missing) or (c.result is not None and not c.missing)
        assert (c.result is None) is (len(c.possible) > 1)
    assert s.summary.startswith("Tumour staging: INRGSS ")


@pytest.mark.parametrize("name", SCORED)
def test_pns_care_vignette(name: str, kb: KnowledgeBase) -> None:
    a = assess_data(_case(VIGNETTES[name]), kb)
    e: dict[str, Any] = VIGNETTES[name]["expect"]["pns_care"]
    p = a.pns_care
    assert p is not None
    if "level" in e:
        assert p.level == e["level"], p.explanation
    if "total" in e:
        assert p.total == e["total"], p.explanation
    if "levels_possible" in e:
        assert list(p.levels_possible) == e["levels_possible"]
    if "missing_include" in e:
        assert any(e["missing_include"] in m for m in p.missing), p.missing
    assert p.assumption_parts or p.level in ("probable",), "the UNCONFIRMED parts are named"


def test_every_stage_group_and_pns_level_has_a_vignette(kb: KnowledgeBase) -> None:
    assert kb.staging is not None and kb.pns_care is not None
    exp = [VIGNETTES[n]["expect"]["staging"] for n in STAGED]
    assert {s.id for s in kb.staging.stages} <= {x.get("stage") for x in exp}
    assert {r.result for r in kb.staging.inrg_rules} <= {x.get("inrg_group") for x in exp}
    rows = {r.id for r in kb.staging.cog_rules} - {"cog_high_5_uh", "cog_high_5_sca"}
    assert rows <= {x.get("cog_rule") for x in exp}
    levels = {VIGNETTES[n]["expect"]["pns_care"].get("level") for n in SCORED}
    assert {lv.id for lv in kb.pns_care.levels} <= levels
