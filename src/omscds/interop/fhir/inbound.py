"""FHIR R4 in: a Bundle (or a CDS Hooks prefetch) read as plain dicts and turned into a case.

Hot path: no ``fhir.resources`` parsing here (interop-notes.md §4.3: 180 ms for a 500-entry
bundle against a few ms for dicts). Only the handful of facts the case needs are extracted.

Never all-or-nothing: what is not understood becomes a ``Notice`` (which resource, which code,
why) and the rest is read. Only what makes an assessment impossible or about the wrong person is
a *problem* (no Patient, no usable birth date, more than one patient): ``$assess`` answers 4xx.
What the readings mean is in ``semantics`` (findings) and ``studies`` (tests); codes come from the
knowledge base's terminology (``kb.terminology``) and HPO index.

omscds' own encodings (written by ``case_out``, docs/fhir-mapping.md): history items as
Observations in the omscds ``history`` system, a severity score as an Observation in the
``severity-scale`` system, the exact age in ``AGE_EXTENSION`` on the Patient (used only when it
agrees with the birth date), the case id in ``Bundle.identifier`` (``CASE_ID_SYSTEM``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from omscds.errors import InteropError
from omscds.interop.fhir import codes as c
from omscds.interop.fhir.extraction import Extraction, Intake, Notice, ref_of
from omscds.interop.fhir.jsonshape import Cd, as_dict, as_list, as_str, codings, number
from omscds.interop.fhir.patient import AGE_EXTENSION, age_in_months, choose_patient, patient_fields
from omscds.interop.fhir.semantics import (
    DROPPED_STATUS,
    condition_status,
    observation_reading,
)
from omscds.interop.fhir.studies import StudyReader
from omscds.knowledge import KnowledgeBase

__all__ = [
    "AGE_EXTENSION",
    "CASE_ID_SYSTEM",
    "HISTORY_FIELDS",
    "Extraction",
    "FindingReader",
    "Intake",
    "Notice",
    "age_in_months",
    "bundle_entries",
    "bundle_to_case",
    "extract_case",
    "read_bundle",
]

#: resources read for the case; any other type is outside what omscds looks at (not a warning)
_READ = frozenset({"Observation", "Condition", "DiagnosticReport", "ImagingStudy", "Procedure"})

#: ``Bundle.identifier.system`` carrying the case id
CASE_ID_SYSTEM = "https://omscds.org/fhir/NamingSystem/case-id"
#: the case's history items: numbers (weeks), booleans, strings (dates, codes) and objects
#: (``component`` per field); the case model validates the values
HISTORY_FIELDS: dict[str, type] = {
    "symptom_duration_weeks": float,
    "preceding_infection": bool,
    "recent_vaccination": bool,
    "possible_toxic_ingestion": bool,
    "relapse": bool,
    "prior_tumour_resected": bool,
    "relapse_date": str,
    "course": str,
    "prior_cancer": dict,
    "resection": dict,
}
_WEEKS = {"wk": 1.0, "week": 1.0, "weeks": 1.0, "d": 1 / 7, "day": 1 / 7, "days": 1 / 7}


def bundle_entries(
    bundle: Any, ex: Extraction | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(path, resource)`` for each entry of a Bundle; raise InteropError when malformed.

    An entry without a resource is skipped (with a notice on ``ex`` when given).
    """
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
            if ex is not None:
                ex.warnings.append(
                    Notice(f"Bundle.entry[{i}]", "", "entry has no resource with a resourceType")
                )
            continue
        yield f"Bundle.entry[{i}].resource", res


def _date(res: dict[str, Any], *keys: str) -> str:
    for k in keys:
        v = res.get(k)
        if isinstance(v, str):
            return v
        if isinstance(v, dict) and isinstance(v.get("start"), str):
            return str(v["start"])
    return ""


_FINDING_CS = c.omscds_system("finding")
_HISTORY_CS = c.omscds_system("history")
_SEVERITY_CS = c.omscds_system("severity-scale")
_CONCEPT_CS = c.omscds_system("concept")


def _finding_keys(kb: KnowledgeBase) -> Mapping[tuple[str | None, str], str]:
    """``(system id, code) -> finding key`` for every HPO and SNOMED CT code that names one.

    Built from the same lookups the reader used per coding: ``kb.finding_key`` (finding keys,
    HPO terms and their descendants), then the SNOMED CT ``findings`` terminology, then the
    SNOMED CT code of each finding.
    """
    snomed = {f.snomed: k for k, f in kb.findings.items() if f.snomed}
    keys: dict[tuple[str | None, str], str] = {}
    for code in {*kb.findings, *kb.hpo_index}:
        key = kb.finding_key(code)
        if key is not None:
            keys["HPO", code] = key
    sct = {code for (system, code) in kb.terminology.concepts("findings") if system == "SNOMEDCT"}
    for code in sct | set(snomed):
        key = kb.terminology.concept("findings", "SNOMEDCT", code) or snomed.get(code)
        if key is not None:
            keys["SNOMEDCT", code] = key
    return MappingProxyType(keys)


class FindingReader:
    """Maps a coded concept to an omscds finding key (HPO via the knowledge base, SNOMED, ours)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        # the lookup tables depend on the knowledge base only: built once per knowledge base
        self.keys = kb.memo("fhir.inbound.finding_keys", lambda: _finding_keys(kb))
        self.analytes = kb.terminology.concepts("observations")
        self.conditions = kb.terminology.concepts("conditions")

    def key_of(self, cd: Cd) -> str | None:
        if cd.sid == "HPO" or cd.sid == "SNOMEDCT":
            return self.keys.get((cd.sid, cd.code))
        if (not cd.system and cd.code.startswith("HP:")) or cd.system == _FINDING_CS:
            return self.keys.get(("HPO", cd.code))  # a finding key or an HPO id
        return None

    def key(self, concept: Any) -> str | None:
        for cd in codings(concept):
            key = self.key_of(cd)
            if key:
                return key
        return None

    def condition(self, concept: Any) -> str | None:
        """``oms``, ``neuroblastoma``, ``ganglioneuroblastoma``... for a diagnosis code."""
        for cd in codings(concept):
            found = self.conditions.get((cd.sid, cd.code))
            if found:
                return found
        return None


def extract_case(
    resources: Iterable[tuple[str, dict[str, Any]]],
    kb: KnowledgeBase,
    *,
    today: dt.date,
    patient_id: str | None = None,
    patient_aliases: Iterable[str] = (),
    strict_patient: bool = False,
) -> Extraction:
    """Read Patient, findings (Observation/Condition), urine HVA/VMA and imaging into a case.

    ``patient_id`` (CDS Hooks ``context.patientId``) names the patient; without it the data must
    hold exactly one Patient. A resource whose subject is another patient is a problem when
    ``strict_patient`` (a Bundle sent to ``$assess``), else skipped with a notice.
    """
    ex = Extraction(case={}, patient_id=patient_id)
    items = list(resources)
    patient = choose_patient(items, ex, patient_id, patient_aliases)
    finder = FindingReader(kb)
    studies = StudyReader(kb)
    findings: dict[str, tuple[str, str, str]] = {}  # key -> (state, date, path)
    history: dict[str, tuple[str, Any]] = {}  # field -> (date, value)
    severity: tuple[str, dict[str, Any]] | None = None
    for path, res in items:
        rtype = res.get("resourceType")
        if rtype == "OperationOutcome":
            _client_error(path, res, ex)
            continue
        if rtype not in _READ:
            continue
        if patient is not None and not patient.owns(res):
            ref = as_str(as_dict(res.get("subject") or res.get("patient")).get("reference"))
            if strict_patient:
                ex.problems.append(
                    (
                        f"{path}.subject",
                        f"refers to {ref}, not the Bundle's patient: one patient per request",
                    )
                )
            else:
                ex.warn(path, res, f"about {ref}, not this patient; not used")
            continue
        status = res.get("status")
        if isinstance(status, str) and status in DROPPED_STATUS:
            ex.warn(path, res, f"status {status}; not used")
            continue
        used = False
        if rtype == "Observation":
            used, severity = _observation(
                path, res, kb, finder, studies, findings, history, severity, ex
            )
        elif rtype == "Condition":
            used = _condition(path, res, finder, studies, findings, history, ex)
        else:
            used = studies.add(path, res, ex)
        ref = ref_of(res)
        if used and ref:
            ex.basis.append(ref)
    if patient is None:
        ex.finish()
        return ex
    patient_fields(patient, today, ex)
    if "age_months" not in ex.case:
        ex.finish()
        return ex
    ex.case["findings"] = {k: v[0] for k, v in sorted(findings.items())}
    ex.provenance.update({f"findings.{k}": v[2] for k, v in findings.items()})
    if history:
        ex.case["history"] = {k: v[1] for k, v in sorted(history.items())}
    if severity is not None:
        ex.case["severity"] = severity[1]
    ex.case["tests"] = studies.tests(ex)
    for i, test in enumerate(ex.case["tests"]):
        ex.provenance[f"tests[{i}]"] = test.pop("_from", "")
    ex.finish()
    extensions: dict[str, Any] = {}
    if ex.warnings:
        extensions["fhir_warnings"] = [str(w) for w in ex.warnings]
    if ex.diagnoses:
        extensions["fhir_diagnoses"] = dict(ex.diagnoses)
    if extensions:
        ex.case["extensions"] = extensions
    return ex


def _client_error(path: str, res: dict[str, Any], ex: Extraction) -> None:
    texts = []
    for issue in as_list(res.get("issue")):
        issue = as_dict(issue)
        text = as_str(issue.get("diagnostics")) or as_str(as_dict(issue.get("details")).get("text"))
        if text:
            texts.append(text[:200])
    detail = f" ({'; '.join(texts[:3])})" if texts else ""
    ex.warn(path, res, f"the client reported an error fetching this data{detail}")


def _observation(
    path: str,
    res: dict[str, Any],
    kb: KnowledgeBase,
    finder: FindingReader,
    studies: StudyReader,
    findings: dict[str, tuple[str, str, str]],
    history: dict[str, tuple[str, Any]],
    severity: tuple[str, dict[str, Any]] | None,
    ex: Extraction,
) -> tuple[bool, tuple[str, dict[str, Any]] | None]:
    code = res.get("code")
    cds = codings(code)  # once: this runs for every Observation of a prefetch (the hot path)
    private = {cd.system: cd.code for cd in cds if cd.system.startswith(c.OMSCDS_CS)}
    if private:
        if _HISTORY_CS in private:
            return _history(path, res, history, ex), severity
        if _SEVERITY_CS in private:
            date = _date(res, "effectiveDateTime", "issued")
            if severity is None or date >= severity[0]:
                severity = (date, _severity(res, date))
                ex.provenance["severity"] = ref_of(res) or path
            return True, severity
        if private.get(_CONCEPT_CS) == "oms-criteria":
            ex.warn(path, res, "omscds' own OMS-criteria output; the findings are read instead")
            return False, severity
    key = None
    for cd in cds:
        analyte = finder.analytes.get((cd.sid, cd.code))
        if analyte in ("hva", "vma"):
            return studies.add_marker(path, res, analyte, ex), severity
        key = key or finder.key_of(cd)
    if key is None:
        diagnosis = finder.condition(code)
        if diagnosis is not None:
            return _diagnosis(path, res, diagnosis, True, True, studies, history, ex), severity
        # an exam Observation ("physical findings") whose value names the finding seen
        seen = finder.key(res.get("valueCodeableConcept"))
        if seen is None:
            ex.unrecognised(path, res, code)
            return False, severity
        date = _date(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
        _put(findings, seen, "present", date, path, res, ex)
        return True, severity
    reading = observation_reading(res, kb.terminology)
    if reading.why:
        ex.warn(path, res, f"{key}: {reading.why}")
    if reading.state is None:
        return False, severity
    date = _date(res, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
    _put(findings, key, reading.state, date, path, res, ex)
    return True, severity


def _condition(
    path: str,
    res: dict[str, Any],
    finder: FindingReader,
    studies: StudyReader,
    findings: dict[str, tuple[str, str, str]],
    history: dict[str, tuple[str, Any]],
    ex: Extraction,
) -> bool:
    code = res.get("code")
    st = condition_status(res)
    key = finder.key(code)
    if key is None:
        diagnosis = finder.condition(code)
        if diagnosis is None:
            ex.unrecognised(path, res, code)
            return False
        # a resolved, confirmed diagnosis still says something: a past tumour
        if st.state is None and not (st.confirmed and not st.current):
            ex.warn(path, res, f"{diagnosis}: {st.why}")
            return False
        if st.state == "absent":
            ex.warn(path, res, f"{diagnosis} refuted; nothing to add to the case")
            return False
        return _diagnosis(path, res, diagnosis, st.confirmed, st.current, studies, history, ex)
    if st.why:
        ex.warn(path, res, f"{key}: {st.why}")
    if st.state is None:
        return False
    date = _date(res, "onsetDateTime", "onsetPeriod", "recordedDate")
    _put(findings, key, st.state, date, path, res, ex)
    return True


def _diagnosis(
    path: str,
    res: dict[str, Any],
    diagnosis: str,
    confirmed: bool,
    current: bool,
    studies: StudyReader,
    history: dict[str, tuple[str, Any]],
    ex: Extraction,
) -> bool:
    """An OMS or neuroblastic-tumour diagnosis (Condition, or an Observation coded as one)."""
    if diagnosis == "oms":
        ex.diagnoses["oms"] = "confirmed" if confirmed else "provisional"
        ex.warn(
            path,
            res,
            f"OMS diagnosis recorded ({ex.diagnoses['oms']}); omscds assesses the criteria "
            "from the coded findings, not from the diagnosis",
        )
        return True
    if not confirmed:
        ex.warn(path, res, f"{diagnosis} not confirmed; the tumour search stays open")
        return False
    if not current:
        date = _date(res, "abatementDateTime", "recordedDate")
        history["prior_tumour_resected"] = (date, True)
        ex.warn(path, res, f"past {diagnosis} (not current): read as a previous tumour")
        return True
    return studies.add_diagnosis(path, res, diagnosis, ex)


def _omscds_code(res: dict[str, Any], name: str) -> str | None:
    for cd in codings(res.get("code")):
        if cd.system == c.omscds_system(name):
            return cd.code
    return None


def _history(
    path: str, res: dict[str, Any], history: dict[str, tuple[str, Any]], ex: Extraction
) -> bool:
    """One history item; the more recent record wins, else the later one in the bundle."""
    name = _omscds_code(res, "history") or ""
    kind = HISTORY_FIELDS.get(name)
    value: Any = None
    if kind is bool and isinstance(res.get("valueBoolean"), bool):
        value = res["valueBoolean"]
    elif kind is float and isinstance(res.get("valueQuantity"), dict):
        vq = res["valueQuantity"]
        unit = vq.get("code") or vq.get("unit") or "wk"
        amount = number(vq.get("value"))
        if amount is not None and isinstance(unit, str) and unit in _WEEKS:
            value = amount * _WEEKS[unit]
    elif kind is str:
        value = as_str(res.get("valueString"))
    elif kind is dict:
        value = _history_parts(res)
    if value is None:
        ex.warn(path, res, f"history item {name!r} not recognised or has no value; not used")
        return False
    date = _date(res, "effectiveDateTime", "issued")
    old = history.get(name)
    if old is None or not old[0] or not date or date >= old[0]:
        history[name] = (date, value)
        ex.provenance[f"history.{name}"] = ref_of(res) or path
    return True


def _history_parts(res: dict[str, Any]) -> dict[str, Any] | None:
    """An object-valued history item: one ``component`` per field (``history-part`` codes)."""
    parts: dict[str, Any] = {}
    for comp in as_list(res.get("component")):
        comp = as_dict(comp)
        names = [
            cd.code
            for cd in codings(comp.get("code"))
            if cd.system == c.omscds_system("history-part")
        ]
        for key in ("valueBoolean", "valueString"):
            if names and key in comp and isinstance(comp[key], bool | str):
                parts[names[0]] = comp[key]
    return parts or None


def _severity(res: dict[str, Any], date: str) -> dict[str, Any]:
    items: dict[str, Any] = {}
    for comp in as_list(res.get("component")):
        if not isinstance(comp, dict):
            continue
        score = comp.get("valueInteger")
        if not isinstance(score, int) or isinstance(score, bool):
            continue
        for cd in codings(comp.get("code")):
            if cd.system == c.omscds_system("severity-item"):
                items[cd.code] = score
    out: dict[str, Any] = {"scale": _omscds_code(res, "severity-scale"), "items": items}
    total = res.get("valueInteger")
    if isinstance(total, int) and not isinstance(total, bool):
        out["total"] = total
    if date:
        out["date"] = date[:10]
    return out


def _put(
    findings: dict[str, tuple[str, str, str]],
    key: str,
    state: str,
    date: str,
    path: str,
    res: dict[str, Any],
    ex: Extraction,
) -> None:
    where = ref_of(res) or path
    old = findings.get(key)
    if old is None or (state != "unknown" and old[0] == "unknown"):
        findings[key] = (state, date, where)
        return
    if state == "unknown" or old[0] == state:
        return
    if date and old[1] and date != old[1]:  # the more recent record wins
        if date > old[1]:
            findings[key] = (state, date, where)
        return
    ex.warn(path, res, f"{key} is {state} here but {old[0]} at {old[2]} (same or no date): unknown")
    findings[key] = ("unknown", date or old[1], f"{old[2]}, {where}")


def bundle_to_case(bundle: Any, kb: KnowledgeBase, *, today: dt.date) -> Extraction:
    """Read a whole Bundle: problems (no patient, no age, two patients) raise InteropError."""
    pre = Extraction(case={})
    entries = list(bundle_entries(bundle, pre))
    aliases = [
        e["fullUrl"]
        for e in as_list(as_dict(bundle).get("entry"))
        if isinstance(e, dict)
        and isinstance(e.get("fullUrl"), str)
        and as_dict(e.get("resource")).get("resourceType") == "Patient"
    ]
    ex = extract_case(entries, kb, today=today, patient_aliases=aliases, strict_patient=True)
    ex.warnings[:0] = pre.warnings
    ex.raise_problems()
    ident = bundle.get("identifier")
    if (
        isinstance(ident, dict)
        and ident.get("system") == CASE_ID_SYSTEM
        and isinstance(ident.get("value"), str)
    ):
        ex.case = {"case_id": ident["value"], **ex.case}
    return ex


def read_bundle(bundle: Any, kb: KnowledgeBase, *, today: dt.date) -> Intake:
    """A Bundle as a typed case with provenance (InteropError/InputError when unusable)."""
    return bundle_to_case(bundle, kb, today=today).intake()
