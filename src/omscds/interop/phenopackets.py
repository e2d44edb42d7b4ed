"""GA4GH Phenopackets v2 (JSON) in: a typed case plus what was not understood.

* age, from the first of: ``subject.timeAtLastEncounter``; ``subject.vitalStatus.timeOfDeath``
  (the age at death); ``subject.dateOfBirth`` with ``metaData.created``; an age the caller gives
  (``age_months``: the clinician knows it); the latest age any other time element gives (a
  phenotypic feature's or a disease's ``onset``/``resolution``, a measurement's
  ``timeObservation``, a biosample's ``timeOfCollection``, a medical action's
  ``procedure.performed``, ``treatment.doseIntervals[].interval`` or ``therapeuticRegimen``
  start and end). A TimeElement may be an ``age``, an ``ageRange`` (its end), a
  ``gestationalAge`` (before birth: 0), a ``timestamp`` or ``interval`` (with the date of
  birth), or an HPO onset class (``ontologyClass``: the youngest age the term allows, from the
  HPO definitions in ``kb.terminology`` onsets; an onset says when a feature began, so the
  child is at least that old). Anything but the subject's own age is said in a warning. Only a
  packet with no time element at all, and no age from the caller, is an error, naming why.
* ``phenotypicFeatures[].type.id`` (``HP:...``) maps through the knowledge base to a finding;
  ``excluded: true`` means absent. A finding is present when any of its terms is present: an
  excluded narrower term does not contradict a present broader one (a child with ataxia may
  have no truncal ataxia). Only an excluded term *above* a present one is inconsistent: the
  finding is then unknown, with a warning.
* a neuroblastic tumour (a phenotypic feature or a disease: HP:0003006, ORPHA:635 ...) is read
  as a positive biopsy with that histology.
* ``subject.sex`` (``FEMALE``/``MALE``/``OTHER_SEX``/``UNKNOWN_SEX``) is the sex.

Terms the knowledge base does not know are reported (``Intake.warnings``; in the case document
``extensions.phenopacket_warnings``), never a reason to refuse the packet.

``read_phenopacket`` gives the typed ``Intake`` every adapter hands on; ``phenopacket_document``
the case document before validation (with its warnings), and ``phenopacket_to_case`` that
document alone (what ``POST /api/v1/import/phenopacket`` returns to the client).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from omscds.errors import InteropError
from omscds.interop.intake import Intake, Notice
from omscds.knowledge import KnowledgeBase
from omscds.model import parse_case

__all__ = [
    "PhenopacketImport",
    "iso8601_months",
    "phenopacket_document",
    "phenopacket_to_case",
    "read_phenopacket",
]

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<w>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T.*)?$"
)
_SEX = {"FEMALE": "female", "MALE": "male", "OTHER_SEX": "other", "UNKNOWN_SEX": "unknown"}
#: calendar conversions, not clinical numbers
_MONTHS_PER_DAY = 12 / 365.25
_MAX_LISTED = 20
_NEUROBLASTIC = ("neuroblastoma", "ganglioneuroblastoma", "ganglioneuroma")
_PREFIX_SYSTEM = {"HP": "HPO", "ORPHA": "ORPHA", "Orphanet": "ORPHA"}


def iso8601_months(text: str, path: str = "subject.timeAtLastEncounter") -> float:
    """Months in an ISO 8601 duration.

    >>> iso8601_months("P1Y6M")
    18.0
    >>> iso8601_months("P2W") < 1
    True
    """
    m = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not m or text.strip() in ("P", ""):
        raise InteropError(f"not an ISO 8601 duration: {text!r}", path=path)
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    days = g["w"] * 7 + g["d"]
    return round(g["y"] * 12 + g["m"] + days * _MONTHS_PER_DAY, 1)


def _date(text: Any) -> dt.date | None:
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def _months_between(start: dt.date, end: dt.date) -> float:
    return round((end - start).days * _MONTHS_PER_DAY, 1)


@dataclass
class PhenopacketImport:
    """The case document read from a packet, and what was not understood or was approximated."""

    case: dict[str, Any]
    warnings: list[Notice] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)

    def intake(self) -> Intake:
        """The typed case (InputError when the document is not a valid case)."""
        return Intake(
            case=parse_case(self.case),
            provenance=MappingProxyType(dict(self.provenance)),
            warnings=tuple(self.warnings),
        )


class _Reader:
    def __init__(self, doc: dict[str, Any], kb: KnowledgeBase) -> None:
        self.doc, self.kb = doc, kb
        self.warnings: list[Notice] = []
        self.provenance: dict[str, str] = {}
        self.unknown = 0
        subject = doc.get("subject")
        self.subject: dict[str, Any] = subject if isinstance(subject, dict) else {}
        self.born = _date(self.subject.get("dateOfBirth"))

    def time_months(self, t: Any, path: str) -> tuple[float, str] | None:
        """(months, how) for a v2 TimeElement, or None when it gives no age."""
        if not isinstance(t, dict):
            return None
        age = t.get("age")
        if isinstance(age, dict) and isinstance(age.get("iso8601duration"), str):
            return iso8601_months(age["iso8601duration"], f"{path}.age"), "age"
        rng = t.get("ageRange")
        if isinstance(rng, dict):
            for end in ("end", "start"):
                part = rng.get(end)
                if isinstance(part, dict) and isinstance(part.get("iso8601duration"), str):
                    return iso8601_months(part["iso8601duration"], f"{path}.ageRange"), (
                        f"the {end} of an age range"
                    )
        if isinstance(t.get("gestationalAge"), dict):
            return 0.0, "a gestational age (before birth)"
        when = _date(t.get("timestamp")) or _date(_dict(t.get("interval")).get("end"))
        if when and self.born:
            return _months_between(self.born, when), "a date with the date of birth"
        onset = _dict(t.get("ontologyClass"))
        term = onset.get("id")
        if isinstance(term, str):
            entry = self.kb.terminology.entry("onsets", "HPO", term)
            if entry is not None and entry.age_months is not None:
                label = onset.get("label") or term
                return entry.age_months[0], f"the youngest age {label} ({term}) allows"
        return None

    def age(self, given: float | None = None) -> float:
        own = self.subject.get("timeAtLastEncounter")
        if own is not None:
            found = self.time_months(own, "subject.timeAtLastEncounter")
            if found is not None:
                if found[1] != "age":
                    self.warn("subject.timeAtLastEncounter", f"age from {found[1]}")
                return found[0]
        death = _dict(_dict(self.subject.get("vitalStatus")).get("timeOfDeath"))
        if death:
            found = self.time_months(death, "subject.vitalStatus.timeOfDeath")
            if found is not None:
                self.warn("subject.vitalStatus.timeOfDeath", f"age at death ({found[1]})")
                return found[0]
        created = _date(_dict(self.doc.get("metaData")).get("created"))
        if self.born and created:
            self.warn("subject.dateOfBirth", "age from the date of birth and metaData.created")
            return _months_between(self.born, created)
        if given is not None:
            self.warn("subject", f"age not in the packet: {given:g} months, as given with it")
            return given
        best: tuple[float, str, str] | None = None
        for path, element in _time_elements(self.doc):
            try:
                found = self.time_months(element, path)
            except InteropError as exc:
                self.warn(path, f"{exc.message}; not used")
                continue
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], found[1], path)
        if best is None:
            raise InteropError(
                "no age: the packet has no time element (no subject.timeAtLastEncounter, "
                "vitalStatus.timeOfDeath or dateOfBirth, and no onset, resolution or time of "
                "any feature, disease, measurement, biosample or treatment); omscds needs the "
                "age to choose the child or adult pathway: give it with the import (age_months)",
                path="subject.timeAtLastEncounter",
            )
        self.warn(
            best[2],
            f"age not given for the subject: the latest age the packet records is used "
            f"({best[1]}, {best[0]:g} months)",
        )
        return best[0]

    def warn(self, path: str, why: str, code: str = "") -> None:
        self.warnings.append(Notice(path, "", why, code))

    def note_unknown(self, path: str, term: str, label: Any) -> None:
        self.unknown += 1
        if self.unknown <= _MAX_LISTED:
            shown = f"{term} {label}" if isinstance(label, str) else term
            self.warn(path, f"{shown} is not a term omscds uses; not used")

    def tumour(self, term: str) -> str | None:
        prefix = term.split(":", 1)[0]
        return self.kb.terminology.concept("conditions", _PREFIX_SYSTEM.get(prefix), term)

    def features(self, tests: list[dict[str, Any]]) -> dict[str, str]:
        present: dict[str, set[str]] = {}
        absent: dict[str, set[str]] = {}
        for i, feat in enumerate(_list(self.doc.get("phenotypicFeatures"))):
            path = f"phenotypicFeatures[{i}]"
            term_obj = _dict(_dict(feat).get("type"))
            term = term_obj.get("id")
            if not isinstance(term, str):
                self.warn(f"{path}.type.id", "missing (an HP id); not used")
                continue
            excluded = _dict(feat).get("excluded") is True
            key = self.kb.finding_key(term)
            if key is None:
                tumour = self.tumour(term)
                if tumour in _NEUROBLASTIC and not excluded:
                    tests.append(_biopsy(tumour, path))
                elif tumour is None:
                    self.note_unknown(f"{path}.type.id", term, term_obj.get("label"))
                continue
            (absent if excluded else present).setdefault(key, set()).add(term)
            if not excluded or f"findings.{key}" not in self.provenance:
                self.provenance[f"findings.{key}"] = f"{path}.type.id"
        findings: dict[str, str] = {}
        for key in sorted(set(present) | set(absent)):
            if key not in present:
                findings[key] = "absent"
                continue
            root = self.kb.findings[key].hpo if key in self.kb.findings else None
            if root is not None and root in absent.get(key, set()) and root not in present[key]:
                self.warn(
                    f"findings.{key}",
                    f"{key}: {root} is excluded but a narrower term "
                    f"({', '.join(sorted(present[key]))}) is present; read as unknown",
                )
                findings[key] = "unknown"
            else:
                findings[key] = "present"
        return findings

    def diseases(self, tests: list[dict[str, Any]]) -> None:
        for i, dz in enumerate(_list(self.doc.get("diseases"))):
            term = _dict(_dict(dz).get("term")).get("id")
            if not isinstance(term, str) or _dict(dz).get("excluded") is True:
                continue
            tumour = self.tumour(term)
            if tumour in _NEUROBLASTIC:
                tests.append(_biopsy(tumour, f"diseases[{i}]"))


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


#: (list, keys) of the v2 elements whose TimeElements can give an age when the subject's does not
_TIMED = (
    ("phenotypicFeatures", ("onset", "resolution")),
    ("diseases", ("onset", "resolution")),
    ("measurements", ("timeObservation",)),
    ("biosamples", ("timeOfCollection",)),
)


def _time_elements(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(path, TimeElement) of every feature, disease, measurement, biosample and treatment."""
    for group, keys in _TIMED:
        for i, item in enumerate(_list(doc.get(group))):
            for key in keys:
                if key in _dict(item):
                    yield f"{group}[{i}].{key}", item[key]
    for i, action in enumerate(_list(doc.get("medicalActions"))):
        path, action = f"medicalActions[{i}]", _dict(action)
        performed = _dict(action.get("procedure")).get("performed")
        if performed is not None:
            yield f"{path}.procedure.performed", performed
        doses = _list(_dict(action.get("treatment")).get("doseIntervals"))
        for j, dose in enumerate(doses):
            interval = _dict(dose).get("interval")
            if interval is not None:
                yield f"{path}.treatment.doseIntervals[{j}].interval", {"interval": interval}
        regimen = _dict(action.get("therapeuticRegimen"))
        for key in ("startTime", "endTime"):
            if key in regimen:
                yield f"{path}.therapeuticRegimen.{key}", regimen[key]


def _biopsy(histology: str, path: str) -> dict[str, Any]:
    return {
        "modality": "biopsy",
        "result": "positive",
        "histology": histology,
        "note": f"{histology} recorded in the phenopacket ({path})",
    }


def phenopacket_document(
    doc: Any, kb: KnowledgeBase, *, age_months: float | None = None
) -> PhenopacketImport:
    """Convert a Phenopacket v2 document to a case document and its warnings.

    ``age_months``: the age when the packet gives none of its own (see the module doc).
    """
    if not isinstance(doc, dict):
        raise InteropError("a phenopacket must be a JSON object")
    if not isinstance(doc.get("subject"), dict):
        raise InteropError("required", path="subject")
    if "phenotypicFeatures" in doc and not isinstance(doc["phenotypicFeatures"], list):
        raise InteropError("must be an array", path="phenotypicFeatures")
    reader = _Reader(doc, kb)
    tests: list[dict[str, Any]] = []
    findings = reader.features(tests)
    reader.diseases(tests)
    case: dict[str, Any] = {
        "age_months": reader.age(age_months),
        "sex": _SEX.get(str(reader.subject.get("sex", "UNKNOWN_SEX")), "unknown"),
        "findings": findings,
    }
    if tests:
        case["tests"] = tests[:1]  # one histology is enough; more would repeat it
    if isinstance(doc.get("id"), str):
        case["case_id"] = doc["id"]
    if reader.unknown > _MAX_LISTED:
        reader.warn(
            "phenotypicFeatures", f"{reader.unknown - _MAX_LISTED} more terms omscds does not use"
        )
    reader.provenance["age_months"] = "subject"
    return PhenopacketImport(case=case, warnings=reader.warnings, provenance=reader.provenance)


def read_phenopacket(doc: Any, kb: KnowledgeBase, *, age_months: float | None = None) -> Intake:
    """The typed case of a packet, with provenance and warnings (InteropError / InputError)."""
    return phenopacket_document(doc, kb, age_months=age_months).intake()


def phenopacket_to_case(
    doc: Any, kb: KnowledgeBase, *, age_months: float | None = None
) -> dict[str, Any]:
    """The case document of a packet; its warnings are in ``extensions.phenopacket_warnings``."""
    result = phenopacket_document(doc, kb, age_months=age_months)
    case = dict(result.case)
    if result.warnings:
        case["extensions"] = {"phenopacket_warnings": [str(w) for w in result.warnings]}
    return case
