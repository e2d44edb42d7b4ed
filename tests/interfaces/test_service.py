"""The application service: every face reads with an adapter and assesses through it."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from omscds.errors import InputError
from omscds.interfaces.service import SOURCES, assess_intake, assess_source, read_source
from omscds.interop.fhir import case_to_bundle
from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case
from omscds.reasoning import assess

SRC = Path(__file__).resolve().parents[2] / "src" / "omscds"


def test_a_case_document_gives_the_engines_assessment(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    case = examples["seed1-02-mibg-negative"]
    done = assess_source("case", case, kb, today=dt.date(2026, 12, 2))
    assert done.assessment == assess(parse_case(case), kb)
    assert done.intake.case == parse_case(case)


def test_a_fhir_bundle_gives_the_same_assessment_as_its_case(
    kb: KnowledgeBase, examples: dict[str, dict[str, Any]]
) -> None:
    case = parse_case(examples["seed1-02-mibg-negative"])
    bundle = case_to_bundle(case, kb, today=dt.date(2026, 12, 2))
    done = assess_source("fhir", json.loads(json.dumps(bundle)), kb, today=dt.date(2026, 12, 2))
    direct = assess(case, kb)
    assert done.assessment.oms.status == direct.oms.status
    assert done.assessment.tumour.probability == direct.tumour.probability
    assert done.intake.provenance  # where each field came from
    assert assess_intake(done.intake, kb).assessment == done.assessment


def test_every_source_is_checked_against_today(kb: KnowledgeBase) -> None:
    case = {
        "age_months": 20,
        "findings": {"opsoclonus": "present"},
        "tests": [{"modality": "mibg", "result": "negative", "date": "2026-12-20"}],
    }
    with pytest.raises(InputError, match="in the future"):
        assess_source("case", case, kb, today=dt.date(2026, 12, 2))
    assert assess_source("case", case, kb).assessment  # without a clock, no date is refused


def test_an_unknown_source_kind_is_a_clear_error(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as err:
        read_source("hl7v2", {}, kb)
    assert err.value.path == "kind" and all(k in str(err.value) for k in SOURCES)


def test_the_engine_is_called_only_by_the_service_and_the_registry() -> None:
    """interop/ only maps: no module there imports the engine's assess (issue 11, item 5)."""
    offenders = []
    for path in sorted((SRC / "interop").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "omscds.reasoning"
            ):
                names = {a.name for a in node.names}
                if names & {"assess", "assess_data"}:
                    offenders.append(str(path.relative_to(SRC)))
    assert offenders == []
