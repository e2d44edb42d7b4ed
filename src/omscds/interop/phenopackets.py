"""GA4GH Phenopackets v2 (JSON) in: ``phenotypicFeatures`` with HP ids become case findings.

* ``subject.timeAtLastEncounter.age.iso8601duration`` (``P2Y3M``, ``P10W``, ``P30D``) is the age;
* ``phenotypicFeatures[].type.id`` (``HP:...``) maps through the knowledge base to a finding;
  ``excluded: true`` means absent;
* ``subject.sex`` (``FEMALE``/``MALE``/``OTHER_SEX``/``UNKNOWN_SEX``) is the sex.

Features the knowledge base does not know are reported, not silently dropped.
"""

from __future__ import annotations

import re
from typing import Any

from omscds.errors import InputError, InteropError
from omscds.knowledge import KnowledgeBase

__all__ = ["iso8601_months", "phenopacket_to_case"]

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<d>\d+(?:\.\d+)?)D)?$"
)
_SEX = {"FEMALE": "female", "MALE": "male", "OTHER_SEX": "other", "UNKNOWN_SEX": "unknown"}
#: calendar conversions, not clinical numbers
_MONTHS_PER_DAY = 12 / 365.25


def iso8601_months(text: str) -> float:
    """Months in an ISO 8601 duration.

    >>> iso8601_months("P1Y6M")
    18.0
    >>> iso8601_months("P2W") < 1
    True
    """
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or text.strip() == "P":
        raise InteropError(
            f"not an ISO 8601 duration: {text!r}", path="subject.timeAtLastEncounter"
        )
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    days = g["w"] * 7 + g["d"]
    return round(g["y"] * 12 + g["m"] + days * _MONTHS_PER_DAY, 1)


def _age(subject: dict[str, Any]) -> float:
    for key in ("timeAtLastEncounter", "timeAtEncounter"):
        t = subject.get(key)
        if isinstance(t, dict) and isinstance(t.get("age"), dict):
            return iso8601_months(str(t["age"].get("iso8601duration", "")))
    raise InteropError(
        "subject.timeAtLastEncounter.age.iso8601duration is required (the age)",
        path="subject.timeAtLastEncounter",
    )


def phenopacket_to_case(doc: Any, kb: KnowledgeBase) -> dict[str, Any]:
    """Convert a Phenopacket v2 document to a case document (validate it with parse_case)."""
    if not isinstance(doc, dict):
        raise InteropError("a phenopacket must be a JSON object")
    subject = doc.get("subject")
    if not isinstance(subject, dict):
        raise InteropError("required", path="subject")
    findings: dict[str, str] = {}
    errors: list[tuple[str, str]] = []
    features = doc.get("phenotypicFeatures") or []
    if not isinstance(features, list):
        raise InteropError("must be an array", path="phenotypicFeatures")
    for i, feat in enumerate(features):
        path = f"phenotypicFeatures[{i}]"
        term = feat.get("type") if isinstance(feat, dict) else None
        hp = term.get("id") if isinstance(term, dict) else None
        if not isinstance(hp, str):
            errors.append((f"{path}.type.id", "required (an HP id)"))
            continue
        key = kb.finding_key(hp)
        if key is None:
            errors.append((f"{path}.type.id", f"{hp} is not a finding omscds knows"))
            continue
        state = "absent" if feat.get("excluded") is True else "present"
        if findings.get(key, state) != state:
            errors.append((path, f"{key} is both present and excluded"))
        findings[key] = state
    if errors:
        raise InputError(errors[0][1], path=errors[0][0], errors=errors)
    case: dict[str, Any] = {
        "age_months": _age(subject),
        "sex": _SEX.get(str(subject.get("sex", "UNKNOWN_SEX")), "unknown"),
        "findings": findings,
    }
    if isinstance(doc.get("id"), str):
        case["case_id"] = doc["id"]
    return case
