"""Typed intake: every adapter (FHIR Bundle, CDS prefetch, phenopacket) hands on an ``Intake``
(a validated ``Case`` with provenance and warnings), never a dict, and they agree."""

from __future__ import annotations

import asyncio
import datetime as dt

from omscds.interop.cdshooks import CdsRequest, gather_prefetch, read_prefetch
from omscds.interop.cdshooks.services import PREFETCH
from omscds.interop.fhir import read_bundle
from omscds.interop.intake import Intake, Notice
from omscds.interop.phenopackets import read_phenopacket
from omscds.model import Case

TODAY = dt.date(2026, 1, 10)


def _typed(intake: object) -> Intake:
    assert isinstance(intake, Intake)
    assert isinstance(intake.case, Case)
    assert all(isinstance(w, Notice) for w in intake.warnings)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in intake.provenance.items())
    return intake


def test_fhir_bundle_and_cds_prefetch_give_the_same_typed_case(kb, kit) -> None:
    resources = kit.oms_child_resources()
    from_bundle = _typed(read_bundle(kit.searchset(resources), kb, today=TODAY))
    req = CdsRequest.model_validate(kit.hook_request("patient-view", kit.prefetch_for(resources)))
    got = asyncio.run(gather_prefetch(req, PREFETCH, timeout=1))
    from_hook = _typed(read_prefetch(got, kb, today=TODAY, patient_id="p1"))
    assert from_hook.case == from_bundle.case
    assert from_hook.provenance == from_bundle.provenance
    assert from_bundle.provenance["age_months"].startswith("Patient/p1")


def test_prefetch_notes_are_warnings_of_the_intake(kb, kit) -> None:
    prefetch = kit.prefetch_for(kit.oms_child_resources())
    del prefetch["studies"]
    req = CdsRequest.model_validate(kit.hook_request("patient-view", prefetch))
    got = asyncio.run(gather_prefetch(req, PREFETCH, timeout=1))
    intake = _typed(read_prefetch(got, kb, today=TODAY, patient_id="p1"))
    [note] = [w for w in intake.warnings if w.path == "prefetch"]
    assert note.why.startswith("studies not available")


def test_phenopacket_gives_a_typed_case(kb) -> None:
    doc = {
        "id": "pp",
        "subject": {"id": "s", "timeAtLastEncounter": {"age": {"iso8601duration": "P20M"}}},
        "phenotypicFeatures": [{"type": {"id": "HP:0010543"}}, {"type": {"id": "HP:9999999"}}],
    }
    intake = _typed(read_phenopacket(doc, kb))
    assert intake.case.age_months == 20
    assert intake.provenance["findings.opsoclonus"] == "phenotypicFeatures[0].type.id"
    assert [w.path for w in intake.warnings] == ["phenotypicFeatures[1].type.id"]
