"""FHIR R4 in: a Bundle (or a CDS Hooks prefetch) read as plain dicts and turned into a case.

Hot path: no ``fhir.resources`` parsing here (interop-notes.md §4.3: 180 ms for a 500-entry
bundle against a few ms for dicts). Only the handful of facts the case needs are extracted.
Unrecognised resources and codes are skipped with a warning; malformed structure is a problem
that names the FHIR path. The caller decides whether problems are fatal (``$assess``) or become
card warnings (CDS Hooks).

omscds' own encodings (written by ``case_out``, docs/fhir-mapping.md): history items as
Observations in the omscds ``history`` system, a severity score as an Observation in the
``severity-scale`` system, the exact age in ``AGE_EXTENSION`` on the Patient (used only when it
agrees with the birth date), the case id in ``Bundle.identifier`` (``CASE_ID_SYSTEM``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from omscds.errors import InteropError
from omscds.interop.fhir import codes as c
from omscds.interop.fhir.studies import StudyReader
from omscds.knowledge import KnowledgeBase

__all__ = [
    "AGE_EXTENSION",
    "CASE_ID_SYSTEM",
    "HISTORY_FIELDS",
    "Extraction",
    "FindingReader",
    "age_in_months",
    "bundle_entries",
    "bundle_to_case",
    "extract_case",
]

#: months per day, a calendar conversion (365.25 / 12 days per month)
_DAYS_PER_MONTH = 365.25 / 12
_SKIP_STATUS = frozenset({"entered-in-error", "cancelled"})
_SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}

#: ``valueDecimal`` on Patient: the exact age in months on the bundle's date
AGE_EXTENSION = "https://omscds.org/fhir/StructureDefinition/age-months"
#: ``Bundle.identifier.system`` carrying the case id
CASE_ID_SYSTEM = "https://omscds.org/fhir/NamingSystem/case-id"
#: the case's history items: numbers (weeks) and booleans
HISTORY_FIELDS: dict[str, type] = {
    "symptom_duration_weeks": float,
    "preceding_infection": bool,
    "recent_vaccination": bool,
    "possible_toxic_ingestion": bool,
    "relapse": bool,
    "prior_tumour_resected": bool,
}
#: the age extension is used when it is within this many months of the birth-date age
_AGE_AGREEMENT = 0.1
_WEEKS = {"wk": 1.0, "week": 1.0, "weeks": 1.0, "d": 1 / 7, "day": 1 / 7, "days": 1 / 7}


@dataclass
class Extraction:
    """What the inbound reader found: a case document, and what it could not use."""

    case: dict[str, Any]
    patient_id: str | None = None
    basis: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raise_problems(self) -> None:
        if self.problems:
            path, msg = self.problems[0]
            raise InteropError(
                f"{msg}" + (f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""),
                path=path,
            )


def bundle_entries(bundle: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(path, resource)`` for each entry of a Bundle; raise InteropError when malformed."""
    if not isinstance(bundle, dict):
        raise InteropError(f"expected a FHIR Bundle object, not {type(bundle).__name__}")
    if bundle.get("resourceType") != "Bundle":
        raise InteropError(
            f"expected resourceType 'Bundle', got {bundle.get('resourceType')!r}",
            path="resourceType",
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InteropError("must be an array", path="Bundle.entry")
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            raise InteropError(
                "each entry needs a resource with a resourceType", path=f"Bundle.entry[{i}]"
            )
        yield f"Bundle.entry[{i}].resource", res


def age_in_months(birth: str, today: dt.date) -> float:
    """Age from a FHIR date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; partial dates use the middle).

    >>> age_in_months("2024-01-15", dt.date(2026, 1, 15))
    24.0
    """
    parts = birth.split("-")
    try:
        if len(parts) == 1:
            born = dt.date(int(parts[0]), 7, 1)
        elif len(parts) == 2:
            born = dt.date(int(parts[0]), int(parts[1]), 15)
        else:
            born = dt.date.fromisoformat(birth[:10])
    except ValueError:
        raise InteropError(f"not a FHIR date: {birth!r}", path="Patient.birthDate") from None
    days = (today - born).days
    if days < 0:
        raise InteropError("birth date is in the future", path="Patient.birthDate")
    return round(days / _DAYS_PER_MONTH, 1)


def _codings(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    out = []
    for cd in concept.get("coding") or ():
        if isinstance(cd, dict) and isinstance(cd.get("code"), str):
            out.append((str(cd.get("system") or ""), cd["code"]))
    return out


def _date(res: dict[str, Any], *keys: str) -> str:
    for k in keys:
        v = res.get(k)
        if isinstance(v, str):
            return v
        if isinstance(v, dict) and isinstance(v.get("start"), str):
            return str(v["start"])
    return ""


class FindingReader:
    """Maps a coded concept to an omscds finding key (HPO via the knowledge base, SNOMED, ours)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.snomed = dict(c.SNOMED_FINDINGS)
        self.snomed.update({f.snomed: k for k, f in kb.findings.items() if f.snomed})

    def key(self, concept: Any) -> str | None:
        for system, code in _codings(concept):
            if system in c.HPO_SYSTEMS or (not system and code.startswith("HP:")):
                key = self.kb.finding_key(code)
            elif system == c.SNOMED_SYSTEM:
                key = self.snomed.get(code)
            elif system == c.omscds_system("finding"):
                key = self.kb.finding_key(code)
            else:
                key = None
            if key:
                return key
        return None


def _observation_state(res: dict[str, Any]) -> str:
    if "valueBoolean" in res:
        return "present" if res["valueBoolean"] is True else "absent"
    if "dataAbsentReason" in res:
        return "unknown"
    value = {code for _, code in _codings(res.get("valueCodeableConcept"))}
    if value & c.PRESENT_CODES:
        return "present"
    if value & c.ABSENT_CODES:
        return "absent"
    interp = {code for i in res.get("interpretation") or () for _, code in _codings(i)}
    if interp & {"NEG", "ND", "N"}:
        return "absent"
    if interp & {"POS", "DET", "A"}:
        return "present"
    return "present"  # an exam-finding Observation with no value records that it was seen


def _condition_state(res: dict[str, Any]) -> str | None:
    verification = {code for _, code in _codings(res.get("verificationStatus"))}
    if "entered-in-error" in verification:
        return None
    if "refuted" in verification:
        return "absent"
    return "present"


def extract_case(
    resources: Iterable[tuple[str, dict[str, Any]]],
    kb: KnowledgeBase,
    *,
    today: dt.date,
    patient_id: str | None = None,
) -> Extraction:
    """Read Patient, findings (Observation/Condition), urine HVA/VMA and imaging into a case."""
    ex = Extraction(case={}, patient_id=patient_id)
    finder = FindingReader(kb)
    studies = StudyReader(kb)
    findings: dict[str, tuple[str, str, str]] = {}  # key -> (state, date, path)
    history: dict[str, tuple[str, Any]] = {}  # field -> (date, value)
    severity: tuple[str, dict[str, Any]] | None = None
    patient: tuple[str, dict[str, Any]] | None = None
    for path, res in resources:
        rtype = res.get("resourceType")
        rid = res.get("id")
        ref = f"{rtype}/{rid}" if isinstance(rid, str) else None
        if rtype == "Patient":
            if patient is None or (patient_id and rid == patient_id):
                patient = (path, res)
            continue
        if rtype == "OperationOutcome":
            ex.warnings.append(f"{path}: the client reported an error fetching data")
            continue
        if res.get("status") in _SKIP_STATUS:
            continue
        if rtype == "Observation" and _omscds_code(res, "history"):
            _history(path, res, history, ex)
        elif rtype == "Observation" and _omscds_code(res, "severity-scale"):
            date = _date(res, "effectiveDateTime", "issued")
            if severity is None or date >= severity[0]:
                severity = (date, _severity(res, date))
        elif rtype == "Observation":
            if c.HVA_LOINC & {code for s, code in _codings(res.get("code")) if s == c.LOINC_SYSTEM}:
                studies.add_marker(path, res, "hva", ex)
            elif c.VMA_LOINC & {
                code for s, code in _codings(res.get("code")) if s == c.LOINC_SYSTEM
            }:
                studies.add_marker(path, res, "vma", ex)
            else:
                key = finder.key(res.get("code"))
                if key is None:
                    ex.warnings.append(f"{path}: Observation code not recognised; ignored")
                    continue
                _put(
                    findings,
                    key,
                    _observation_state(res),
                    _date(res, "effectiveDateTime", "effectivePeriod", "issued"),
                    path,
                    ex,
                )
        elif rtype == "Condition":
            key = finder.key(res.get("code"))
            state = _condition_state(res)
            if key is None or state is None:
                if key is None:
                    ex.warnings.append(f"{path}: Condition code not recognised; ignored")
                continue
            _put(findings, key, state, _date(res, "onsetDateTime", "recordedDate"), path, ex)
        elif rtype in ("DiagnosticReport", "ImagingStudy"):
            studies.add(path, res, ex)
        else:
            continue
        if ref:
            ex.basis.append(ref)
    if patient is None:
        ex.problems.append(("Patient", "a Patient resource is required (for the age)"))
        return ex
    ppath, pres = patient
    ex.patient_id = ex.patient_id or (pres.get("id") if isinstance(pres.get("id"), str) else None)
    birth = pres.get("birthDate")
    if not isinstance(birth, str):
        ex.problems.append((f"{ppath}.birthDate", "required to compute the age"))
        return ex
    try:
        ex.case["age_months"] = _age(ppath, pres, birth, today, ex)
    except InteropError as exc:
        ex.problems.append((f"{ppath}.birthDate", exc.message))
        return ex
    ex.case["sex"] = _SEX.get(str(pres.get("gender")), "unknown")
    ex.case["findings"] = {k: v[0] for k, v in sorted(findings.items())}
    if history:
        ex.case["history"] = {k: v[1] for k, v in sorted(history.items())}
    if severity is not None:
        ex.case["severity"] = severity[1]
    ex.case["tests"] = studies.tests(ex)
    ex.case["visit_date"] = today.isoformat()
    if ex.warnings:
        ex.case["extensions"] = {"fhir_warnings": list(ex.warnings)}
    return ex


def _age(path: str, patient: dict[str, Any], birth: str, today: dt.date, ex: Extraction) -> float:
    """The birth-date age, refined by ``AGE_EXTENSION`` when the two agree (else a warning)."""
    age = age_in_months(birth, today)
    for ext in patient.get("extension") or ():
        if not isinstance(ext, dict) or ext.get("url") != AGE_EXTENSION:
            continue
        exact = ext.get("valueDecimal")
        if not isinstance(exact, int | float) or isinstance(exact, bool):
            continue
        if abs(exact - age) <= _AGE_AGREEMENT:
            return float(exact)
        ex.warnings.append(
            f"{path}: age extension ({exact} months) disagrees with birthDate ({age}); "
            "birthDate used"
        )
    return age


def _omscds_code(res: dict[str, Any], name: str) -> str | None:
    for system, code in _codings(res.get("code")):
        if system == c.omscds_system(name):
            return code
    return None


def _history(
    path: str, res: dict[str, Any], history: dict[str, tuple[str, Any]], ex: Extraction
) -> None:
    """One history item; the more recent record wins, else the later one in the bundle."""
    name = _omscds_code(res, "history") or ""
    kind = HISTORY_FIELDS.get(name)
    value: Any = None
    if kind is bool and isinstance(res.get("valueBoolean"), bool):
        value = res["valueBoolean"]
    elif kind is float and isinstance(res.get("valueQuantity"), dict):
        vq = res["valueQuantity"]
        unit = vq.get("code") or vq.get("unit") or "wk"
        number = vq.get("value")
        if isinstance(number, int | float) and not isinstance(number, bool) and unit in _WEEKS:
            value = float(number) * _WEEKS[unit]
    if value is None:
        ex.warnings.append(f"{path}: history item {name!r} not recognised or has no value; ignored")
        return
    date = _date(res, "effectiveDateTime", "issued")
    old = history.get(name)
    if old is None or not old[0] or not date or date >= old[0]:
        history[name] = (date, value)


def _severity(res: dict[str, Any], date: str) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for comp in res.get("component") or ():
        if not isinstance(comp, dict):
            continue
        for system, code in _codings(comp.get("code")):
            if system == c.omscds_system("severity-item") and "valueInteger" in comp:
                items[code] = comp["valueInteger"]
    out: dict[str, Any] = {"scale": _omscds_code(res, "severity-scale"), "items": items}
    if "valueInteger" in res:
        out["total"] = res["valueInteger"]
    if date:
        out["date"] = date[:10]
    return out


def _put(
    findings: dict[str, tuple[str, str, str]],
    key: str,
    state: str,
    date: str,
    path: str,
    ex: Extraction,
) -> None:
    old = findings.get(key)
    if old is None or (state != "unknown" and old[0] == "unknown"):
        findings[key] = (state, date, path)
        return
    if state == "unknown" or old[0] == state:
        return
    if date and old[1] and date != old[1]:  # the more recent record wins
        if date > old[1]:
            findings[key] = (state, date, path)
        return
    ex.problems.append((path, f"{key} is {state} here but {old[0]} at {old[2]}"))


def bundle_to_case(bundle: Any, kb: KnowledgeBase, *, today: dt.date) -> Extraction:
    """Read a whole Bundle strictly: any problem raises InteropError naming the FHIR path."""
    ex = extract_case(bundle_entries(bundle), kb, today=today)
    ex.raise_problems()
    ident = bundle.get("identifier")
    if (
        isinstance(ident, dict)
        and ident.get("system") == CASE_ID_SYSTEM
        and isinstance(ident.get("value"), str)
    ):
        ex.case = {"case_id": ident["value"], **ex.case}
    return ex
