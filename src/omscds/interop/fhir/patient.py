"""The patient of a FHIR request: which Patient it is (one per request), and their age and sex.

* one Patient per request: a CDS call names it (``context.patientId``); a Bundle must hold
  exactly one. A resource whose ``subject`` is another patient is not this patient's.
* the age runs from ``birthDate`` (partial dates use the middle of the year or month) to the
  request's date, or to ``deceasedDateTime`` (age at death); omscds' own exact-age extension
  refines it while the two agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from omscds.errors import InteropError
from omscds.interop.fhir.extraction import Extraction, ref_of
from omscds.interop.fhir.jsonshape import as_dict, as_list, as_str, number

__all__ = ["AGE_EXTENSION", "PatientRef", "age_in_months", "choose_patient", "patient_fields"]

#: months per day, a calendar conversion (365.25 / 12 days per month)
_DAYS_PER_MONTH = 365.25 / 12
_SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
#: ``valueDecimal`` on Patient: the exact age in months on the bundle's date
AGE_EXTENSION = "https://omscds.org/fhir/StructureDefinition/age-months"
#: the age extension is used when it is within this many months of the birth-date age
_AGE_AGREEMENT = 0.1


def _parse_date(text: str, path: str) -> dt.date:
    parts = text.split("-")
    try:
        if len(parts) == 1:
            return dt.date(int(parts[0]), 7, 1)
        if len(parts) == 2:
            return dt.date(int(parts[0]), int(parts[1]), 15)
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise InteropError(f"not a FHIR date: {text!r}", path=path) from None


def age_in_months(birth: str, today: dt.date) -> float:
    """Age from a FHIR date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; partial dates use the middle).

    >>> age_in_months("2024-01-15", dt.date(2026, 1, 15))
    24.0
    """
    born = _parse_date(birth, "Patient.birthDate")
    days = (today - born).days
    if days < 0:
        raise InteropError("birth date is in the future", path="Patient.birthDate")
    return round(days / _DAYS_PER_MONTH, 1)


class PatientRef:
    """Which Patient the request is about, and whether a resource belongs to them."""

    def __init__(self, path: str, res: dict[str, Any], aliases: Iterable[str]) -> None:
        self.path, self.res = path, res
        self.id = as_str(res.get("id"))
        self.refs = {a for a in aliases if a}
        if self.id:
            self.refs.add(f"Patient/{self.id}")

    def owns(self, res: dict[str, Any]) -> bool:
        subject = as_dict(res.get("subject") or res.get("patient"))
        ref = as_str(subject.get("reference"))
        if not ref or not self.refs:
            return True
        if ref in self.refs or (self.id and ref == f"urn:uuid:{self.id}"):
            return True
        return bool(self.id) and ref.rstrip("/").endswith(f"/Patient/{self.id}")


def choose_patient(
    items: list[tuple[str, dict[str, Any]]],
    ex: Extraction,
    patient_id: str | None,
    aliases: Iterable[str],
) -> PatientRef | None:
    patients = [(p, r) for p, r in items if r.get("resourceType") == "Patient"]
    if patient_id is not None:
        mine = [(p, r) for p, r in patients if r.get("id") == patient_id]
        for p, r in patients:
            if r.get("id") != patient_id:
                ex.warn(p, r, f"not the patient of this request (Patient/{patient_id}); not used")
        if not mine:
            if patients:
                ex.problems.append(("Patient", f"no Patient/{patient_id} among the data sent"))
            else:
                ex.problems.append(("Patient", "a Patient resource is required (for the age)"))
            return None
        return PatientRef(*mine[0], aliases)
    ids = {as_str(r.get("id")) or f"#{p}" for p, r in patients}
    if len(ids) > 1:
        shown = ", ".join(sorted(f"Patient/{i}" if not i.startswith("#") else i for i in ids))
        ex.problems.append(
            ("Bundle.entry", f"one Patient per request: this Bundle holds {len(ids)} ({shown})")
        )
        return None
    if not patients:
        ex.problems.append(("Patient", "a Patient resource is required (for the age)"))
        return None
    return PatientRef(*patients[0], aliases)


def patient_fields(patient: PatientRef, today: dt.date, ex: Extraction) -> None:
    ppath, pres = patient.path, patient.res
    ex.patient_id = ex.patient_id or patient.id
    birth = pres.get("birthDate")
    if not isinstance(birth, str):
        ex.problems.append((f"{ppath}.birthDate", "required to compute the age"))
        return
    on = today
    deceased = pres.get("deceasedDateTime")
    if isinstance(deceased, str):
        try:
            died = _parse_date(deceased, f"{ppath}.deceasedDateTime")
        except InteropError as exc:
            ex.warn(ppath, pres, f"deceasedDateTime not a date ({exc.message}); age to today")
        else:
            if died < on:
                on = died
                ex.warn(ppath, pres, f"deceased on {died.isoformat()}: age at death used")
    elif pres.get("deceasedBoolean") is True:
        ex.warn(ppath, pres, "deceased, date not given: age counted to today")
    try:
        ex.case["age_months"] = _age(ppath, pres, birth, on, ex)
    except InteropError as exc:
        ex.problems.append((f"{ppath}.birthDate", exc.message))
        return
    gender = pres.get("gender")
    ex.case["sex"] = _SEX.get(gender, "unknown") if isinstance(gender, str) else "unknown"
    ex.provenance["age_months"] = ex.provenance["sex"] = ref_of(pres) or ppath
    ex.case["visit_date"] = on.isoformat()


def _age(path: str, patient: dict[str, Any], birth: str, today: dt.date, ex: Extraction) -> float:
    """The birth-date age, refined by ``AGE_EXTENSION`` when the two agree (else a warning)."""
    age = age_in_months(birth, today)
    for ext in as_list(patient.get("extension")):
        if not isinstance(ext, dict) or ext.get("url") != AGE_EXTENSION:
            continue
        exact = number(ext.get("valueDecimal"))
        if exact is None:
            continue
        if abs(exact - age) <= _AGE_AGREEMENT:
            return exact
        ex.warn(
            path,
            patient,
            f"age extension ({exact} months) disagrees with birthDate ({age}); birthDate used",
        )
    return age
