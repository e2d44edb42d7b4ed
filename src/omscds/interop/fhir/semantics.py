"""What an Observation or Condition says about a finding, as FHIR R4 defines it.

* Observation (R4 §Observation "Notes", value[x], dataAbsentReason, interpretation, status):
  ``valueBoolean``; ``valueCodeableConcept`` through the knowledge base's answer codes (LOINC
  LA33-6 Yes / LA32-8 No, SNOMED 373066001 / 373067005 / 260385009 ...); ``valueString`` and a
  concept's ``text`` through a few plain words; ``dataAbsentReason`` is *unknown*; without a
  value, ``interpretation`` POS/DET/A (present) or NEG/ND/N (absent); an exam Observation with
  nothing else records that the finding was seen. An answer that is not understood is *unknown*
  with a warning, never *present*.
* Condition (R4 condition-ver-status, condition-clinical): ``entered-in-error`` is dropped,
  ``refuted`` is absent, ``differential`` is not a finding; ``provisional``/``unconfirmed`` are
  present but not confirmed; clinical status ``resolved``/``inactive``/``remission`` is not
  counted as present now.
* status: ``entered-in-error``/``cancelled`` are dropped, ``registered`` has no result yet,
  ``preliminary`` is used with a warning.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from omscds.interop.fhir.jsonshape import as_list, as_str, codings
from omscds.knowledge.terminology import Terminology

__all__ = [
    "DROPPED_STATUS",
    "ConditionStatus",
    "Reading",
    "condition_status",
    "observation_reading",
    "text_answer",
]

DROPPED_STATUS: Final = frozenset({"entered-in-error", "cancelled"})
_NO_RESULT_YET: Final = frozenset({"registered"})
_USED_WITH_WARNING: Final = frozenset({"preliminary", "unknown"})
# words, not codes: what people type in valueString (lower-cased, stripped)
_WORDS: Final = {
    "present": frozenset({"yes", "y", "present", "positive", "true", "seen", "detected"}),
    "absent": frozenset(
        {"no", "n", "absent", "negative", "false", "none", "not present", "not seen"}
        | {"not detected", "denied", "nil"}
    ),
    "unknown": frozenset({"unknown", "not known", "not assessed", "don't know", "unsure"}),
}
_INTERP_PRESENT: Final = frozenset({"POS", "DET", "A", "AA"})
_INTERP_ABSENT: Final = frozenset({"NEG", "ND", "N"})
_VALUE_KEYS: Final = (
    "valueQuantity",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
)


class Reading(NamedTuple):
    """A finding state (or None: do not use the resource) and why, when it needs saying."""

    state: str | None
    why: str = ""


def text_answer(text: Any) -> str | None:
    """``present`` / ``absent`` / ``unknown`` for a plain-word answer, else None.

    >>> text_answer(" Absent "), text_answer("No"), text_answer("maybe")
    ('absent', 'absent', None)
    """
    if not isinstance(text, str):
        return None
    word = text.strip().lower().rstrip(".")
    for state, words in _WORDS.items():
        if word in words:
            return state
    return None


def _status(res: dict[str, Any]) -> Reading | None:
    status = res.get("status")
    if status is None:
        return None
    if not isinstance(status, str):
        return Reading(None, "status is not a code; not used")
    if status in DROPPED_STATUS:
        return Reading(None, f"status {status}; not used")
    if status in _NO_RESULT_YET:
        return Reading(None, f"status {status} (no result yet); not used")
    return None


def observation_reading(res: dict[str, Any], terms: Terminology) -> Reading:
    """What an Observation coded as a finding says about it."""
    dropped = _status(res)
    if dropped is not None:
        return dropped
    reading = _value(res, terms)
    status = as_str(res.get("status"))
    if reading.state is not None and status in _USED_WITH_WARNING:
        return Reading(reading.state, f"status {status}; used as {reading.state}")
    return reading


def _value(res: dict[str, Any], terms: Terminology) -> Reading:
    if "valueBoolean" in res:
        v = res["valueBoolean"]
        if isinstance(v, bool):
            return Reading("present" if v else "absent")
        return Reading("unknown", "valueBoolean is not true/false; read as unknown")
    if "valueCodeableConcept" in res:
        concept = res["valueCodeableConcept"]
        for cd in codings(concept):
            answer = terms.concept("answers", cd.sid, cd.code)
            if answer:
                return Reading(answer)
        text = concept.get("text") if isinstance(concept, dict) else None
        answer = text_answer(text)
        if answer:
            return Reading(answer)
        shown = ", ".join(c.label() for c in codings(concept)) or repr(text)
        return Reading("unknown", f"answer {shown} not understood; read as unknown")
    if "valueString" in res:
        answer = text_answer(res["valueString"])
        if answer:
            return Reading(answer)
        return Reading("unknown", f"answer {res['valueString']!r} not understood; read as unknown")
    if "dataAbsentReason" in res:
        return Reading("unknown")
    for key in _VALUE_KEYS:
        if key in res:
            return Reading("unknown", f"{key} says nothing about presence; read as unknown")
    interp = {cd.code for i in as_list(res.get("interpretation")) for cd in codings(i)}
    if interp & _INTERP_ABSENT:
        return Reading("absent")
    if interp & _INTERP_PRESENT:
        return Reading("present")
    return Reading("present")  # an exam-finding Observation with no value records it was seen


class ConditionStatus(NamedTuple):
    """A Condition's state as a finding, whether it is confirmed, and why (when it matters)."""

    state: str | None
    confirmed: bool
    current: bool
    why: str = ""


def condition_status(res: dict[str, Any]) -> ConditionStatus:
    """Read verificationStatus and clinicalStatus (R4 required bindings).

    >>> condition_status({"verificationStatus": {"coding": [{"code": "differential"}]}}).state
    >>> condition_status({"verificationStatus": {"coding": [{"code": "refuted"}]}}).state
    'absent'
    """
    verification = {cd.code for cd in codings(res.get("verificationStatus"))}
    clinical = {cd.code for cd in codings(res.get("clinicalStatus"))}
    if "entered-in-error" in verification:
        return ConditionStatus(None, False, False, "entered in error; not used")
    if "refuted" in verification:
        return ConditionStatus("absent", True, True)
    if "differential" in verification:
        return ConditionStatus(
            None, False, False, "a differential diagnosis, not present; not used"
        )
    confirmed = not verification & {"provisional", "unconfirmed"}
    current = not clinical & {"resolved", "inactive", "remission"}
    why = "" if confirmed else "provisional (not confirmed)"
    if not current:
        state = None
        why = ", ".join(filter(None, [why, f"clinical status {sorted(clinical)[0]}; not current"]))
    else:
        state = "present"
    return ConditionStatus(state, confirmed, current, why)
