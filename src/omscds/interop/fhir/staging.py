"""FHIR R4 out: the neuroblastoma stage and risk group of an assessment as two Observations.

One Observation for the INRGSS stage, one for the risk group (COG 2021 risk as the value; the
INRG pretreatment group and risk as components). While a deciding input is unknown the value is
absent (``dataAbsentReason`` unknown) and the note says which results are still possible and
what decides. Codes are omscds' own (``https://omscds.org/fhir/CodeSystem/...``): no standard
code for INRGSS stage or INRG group was verified for ``terminology.yaml``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fhir.resources.R4B.observation import Observation

from omscds.interop.fhir import codes as c
from omscds.interop.uuids import random_uuid
from omscds.model import Assessment, Classification

__all__ = ["staging_entries", "staging_observations"]

_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def _coding(system: str, code: str, display: str = "") -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _value(cl: Classification) -> dict[str, Any]:
    """``valueCodeableConcept`` when definite, else ``dataAbsentReason`` (FHIR: never both)."""
    if cl.result is not None:
        return {
            "valueCodeableConcept": {
                "coding": [_coding(c.omscds_system(cl.system), cl.result)],
                "text": cl.explanation,
            }
        }
    return {"dataAbsentReason": {"coding": [_coding(_ABSENT, "unknown")], "text": cl.explanation}}


def _component(cl: Classification) -> dict[str, Any]:
    return {
        "code": {"coding": [_coding(c.omscds_system("concept"), cl.system, cl.label)]},
        **_value(cl),
    }


def _observation(
    cl: Classification,
    *,
    patient_ref: str | None,
    now: dt.datetime,
    components: tuple[Classification, ...] = (),
    note: str = "",
) -> dict[str, Any]:
    notes = [n for n in (note, cl.assumption_note) if n]
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [{"coding": [_coding(_OBS_CATEGORY, "exam")]}],
        "code": {
            "coding": [_coding(c.omscds_system("concept"), cl.system, cl.label)],
            "text": cl.label,
        },
        "subject": {"reference": patient_ref} if patient_ref else {"display": "the patient"},
        "effectiveDateTime": now.isoformat(timespec="seconds"),
        **_value(cl),
    }
    if components:
        data["component"] = [_component(x) for x in components]
    if notes:
        data["note"] = [{"text": n} for n in notes]
    out: dict[str, Any] = Observation.model_validate(data).model_dump(
        mode="json", exclude_none=True
    )
    return out


def staging_observations(
    a: Assessment, *, patient_ref: str | None, now: dt.datetime
) -> list[dict[str, Any]]:
    """The stage and the risk-group Observations (none when the assessment has no staging)."""
    s = a.staging
    if s is None:
        return []
    stage = _observation(s.stage, patient_ref=patient_ref, now=now, note=s.summary)
    risk = _observation(
        s.cog_risk,
        patient_ref=patient_ref,
        now=now,
        components=(s.inrg_group, s.inrg_risk),
        note="; ".join(s.missing) and "Not known: " + "; ".join(s.missing),
    )
    return [stage, risk]


def staging_entries(
    a: Assessment, *, patient_ref: str | None, now: dt.datetime
) -> list[dict[str, Any]]:
    """Bundle entries (``urn:uuid`` full URLs) of ``staging_observations``."""
    return [
        {"fullUrl": f"urn:uuid:{random_uuid()}", "resource": obs}
        for obs in staging_observations(a, patient_ref=patient_ref, now=now)
    ]
