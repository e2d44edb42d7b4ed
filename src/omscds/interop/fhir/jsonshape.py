"""Reading untrusted FHIR JSON without trusting its shape.

EHR data is often non-conformant and an attacker can send any JSON type anywhere. Every reader
goes through these helpers, so a list where an object belongs (or a number where a string
belongs) reads as "absent" and becomes a warning upstream, never a ``TypeError``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from omscds.knowledge.codes import system_id

__all__ = ["Cd", "as_dict", "as_list", "as_str", "codings", "codings_of_list", "number"]


class Cd(NamedTuple):
    """One ``Coding``: the system's short id (None when not a known standard), raw URI, code."""

    sid: str | None
    system: str
    code: str
    display: str

    def label(self) -> str:
        """``system|code`` as FHIR token search writes it.

        >>> Cd("LOINC", "http://loinc.org", "3124-5", "").label()
        'http://loinc.org|3124-5'
        """
        return f"{self.system}|{self.code}" if self.system else self.code


def as_dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def as_str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def number(x: Any) -> float | None:
    """A JSON number as float (booleans are not numbers; huge or non-finite values are None)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    try:
        value = float(x)
    except OverflowError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def codings(concept: Any) -> list[Cd]:
    """The codings of a CodeableConcept (or of a bare Coding, as R4 uses in a few places).

    >>> codings({"coding": [{"system": "http://purl.obolibrary.org/obo/hp", "code": "HP:1"}]})
    [Cd(sid='HPO', system='http://purl.obolibrary.org/obo/hp', code='HP:1', display='')]
    >>> codings({"coding": "oops"}), codings(7)
    ([], [])
    """
    if not isinstance(concept, dict):
        return []
    items = concept.get("coding") if "coding" in concept else [concept]
    out = []
    for cd in as_list(items):
        if not isinstance(cd, dict) or not isinstance(cd.get("code"), str):
            continue
        system = as_str(cd.get("system")) or ""
        display = as_str(cd.get("display")) or ""
        out.append(Cd(system_id(system), system, cd["code"], display))
    return out


def codings_of_list(concepts: Any) -> list[Cd]:
    """The codings of a list of CodeableConcepts (or a single one sent where a list belongs)."""
    items = concepts if isinstance(concepts, list) else [concepts]
    out: list[Cd] = []
    for concept in items:
        out += codings(concept)
    return out
