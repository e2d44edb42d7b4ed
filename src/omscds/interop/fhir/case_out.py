"""FHIR R4 out, input side: a case written as the Bundle ``inbound``/``studies`` read back.

``case_to_bundle(case, kb, today=...)`` gives a ``collection`` Bundle of plain dicts in exactly
the encodings docs/fhir-mapping.md lists for input, so ``bundle_to_case`` returns an equivalent
case (the round trip is tested). Codes come from ``codes.py`` and the knowledge base only.

* age: ``Patient.birthDate`` is chosen so that ``age_in_months(birthDate, today)`` (0.1-month
  resolution) equals the age rounded to 0.1; an age finer than that is also written exactly in
  ``AGE_EXTENSION``, which the reader prefers while it agrees with the birth date.
* findings: one Observation each, HPO code (else the omscds ``finding`` code), ``valueBoolean``;
  unknown findings are omitted.
* history and severity: Observations in omscds' ``history`` / ``severity-scale`` systems.
* tests: a plain urine HVA/VMA test as LOINC Observations judged by ``interpretation``; every
  other test as a DiagnosticReport (modality code, region extension, ``conclusionCode``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from omscds.interop.fhir import codes as c
from omscds.interop.fhir.inbound import AGE_EXTENSION, CASE_ID_SYSTEM, age_in_months
from omscds.interop.fhir.studies import (
    LOCATION_EXTENSION,
    QUANTITATIVE_EXTENSION,
    REGION_EXTENSION,
)
from omscds.knowledge import KnowledgeBase
from omscds.knowledge.codes import SYSTEM_URIS
from omscds.model import Case, TestResult

__all__ = ["birth_date_for", "case_to_bundle"]

_HPO = SYSTEM_URIS["HPO"]
_UCUM = SYSTEM_URIS["UCUM"]
#: the v3 interpretation written on a urine HVA/VMA value for the test's overall result
_INTERPRETATION = {"positive": "H", "negative": "N", "equivocal": "IND"}
#: a first guess at the day count (calendar months); ``birth_date_for`` then checks the reader
_DAYS_PER_MONTH = 365.25 / 12


def birth_date_for(age_months: float, today: dt.date) -> dt.date:
    """A birth date whose age on ``today`` (``age_in_months``) is ``age_months`` to 0.1 month.

    >>> birth_date_for(19, dt.date(2026, 1, 10)).isoformat()
    '2024-06-11'
    >>> from omscds.interop.fhir import age_in_months
    >>> age_in_months(birth_date_for(24.3, dt.date(2026, 1, 10)).isoformat(), dt.date(2026, 1, 10))
    24.3
    """
    target = round(age_months, 1)
    days = round(age_months * _DAYS_PER_MONTH)
    # one day is ~0.033 month, so a day within +/-3 always rounds to the target
    for step in (0, -1, 1, -2, 2, -3, 3):
        born = today - dt.timedelta(days=max(days + step, 0))
        if age_in_months(born.isoformat(), today) == target:
            return born
    return today - dt.timedelta(days=days)  # pragma: no cover - unreachable, see above


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _concept(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


class _Writer:
    def __init__(self, kb: KnowledgeBase, patient_id: str) -> None:
        self.kb = kb
        self.subject = {"reference": f"Patient/{patient_id}"}
        self.resources: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}

    def add(self, prefix: str, res: dict[str, Any]) -> dict[str, Any]:
        n = self.counts[prefix] = self.counts.get(prefix, 0) + 1
        rtype = res.pop("resourceType")
        full = {"resourceType": rtype, "id": f"{prefix}{n}", "subject": self.subject, **res}
        self.resources.append(full)
        return full

    def finding(self, key: str, state: str) -> None:
        if key.startswith("HP:"):
            code = _coding(_HPO, key)
        else:
            hpo = self.kb.findings[key].hpo if key in self.kb.findings else None
            code = _coding(_HPO, hpo) if hpo else _coding(c.omscds_system("finding"), key)
        self.add(
            "finding-",
            {
                "resourceType": "Observation",
                "status": "final",
                "code": _concept(code, text=key),
                "valueBoolean": state == "present",
            },
        )

    def history(self, name: str, value: Any) -> None:
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": _concept(_coding(c.omscds_system("history"), name)),
        }
        if isinstance(value, bool):
            res["valueBoolean"] = value
        elif isinstance(value, str):  # a date or a code of the case vocabulary
            res["valueString"] = value
        elif isinstance(value, dict):
            res["component"] = [
                {
                    "code": _concept(_coding(c.omscds_system("history-part"), key)),
                    ("valueBoolean" if isinstance(v, bool) else "valueString"): v
                    if isinstance(v, bool)
                    else str(v),
                }
                for key, v in value.items()
            ]
        else:
            res["valueQuantity"] = {"value": value, "unit": "wk", "system": _UCUM, "code": "wk"}
        self.add("history-", res)

    def severity(self, case: Case) -> None:
        sev = case.severity
        if sev is None:
            return
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": _concept(_coding(c.omscds_system("severity-scale"), sev.scale)),
            "component": [
                {
                    "code": _concept(_coding(c.omscds_system("severity-item"), item)),
                    "valueInteger": score,
                }
                for item, score in sev.items.items()
            ],
        }
        if sev.total is not None:
            res["valueInteger"] = sev.total
        if sev.date is not None:
            res["effectiveDateTime"] = sev.date.isoformat()
        if not res["component"]:
            del res["component"]
        self.add("severity-", res)

    def markers(self, test: TestResult) -> None:
        """A plain urine test as LOINC HVA/VMA values, each carrying the test's verdict."""
        for analyte, value in test.quantitative.items():
            loinc = self.kb.terminology.codes("observations", analyte)[0]
            code, display = loinc.code, loinc.display
            res: dict[str, Any] = {
                "resourceType": "Observation",
                "status": "final",
                "code": _concept(_coding(c.LOINC_SYSTEM, code, display)),
                "valueQuantity": {"value": value},
                "interpretation": [
                    _concept(_coding(c.INTERPRETATION_SYSTEM, _INTERPRETATION[test.result]))
                ],
            }
            if test.date is not None:
                res["effectiveDateTime"] = test.date.isoformat()
            self.add("urine-", res)

    def _region(self, region: str) -> dict[str, Any]:
        code = self.kb.terminology.region_code(region)
        if code is None:
            return _coding(c.omscds_system("region"), region)
        return _coding(code.uri, code.code, code.display)

    def report(self, test: TestResult) -> None:
        conclusion = [_concept(_coding(c.omscds_system("study-result"), test.result))]
        if test.histology is not None:
            codings = [_coding(c.omscds_system("histology"), test.histology)]
            hpo_terms = [
                cd
                for cd in self.kb.terminology.codes("conditions", test.histology)
                if cd.system == "HPO"
            ]
            if hpo_terms:
                codings.append(_coding(_HPO, hpo_terms[0].code))
            conclusion.append(_concept(*codings))
        for key in test.findings:
            hpo = self.kb.test_findings[key].hpo if key in self.kb.test_findings else None
            conclusion.append(
                _concept(_coding(_HPO, hpo))
                if hpo
                else _concept(_coding(c.omscds_system("test-finding"), key))
            )
        extensions: list[dict[str, Any]] = [
            {
                "url": REGION_EXTENSION,
                "valueCodeableConcept": _concept(self._region(region)),
            }
            for region in test.regions
        ]
        if test.location is not None:
            extensions.append({"url": LOCATION_EXTENSION, "valueString": test.location})
        if test.quantitative:
            extensions.append(
                {
                    "url": QUANTITATIVE_EXTENSION,
                    "extension": [
                        {"url": name, "valueDecimal": value}
                        for name, value in test.quantitative.items()
                    ],
                }
            )
        res: dict[str, Any] = {"resourceType": "DiagnosticReport"}
        if extensions:
            res["extension"] = extensions
        res["status"] = "registered" if test.result == "pending" else "final"
        res["code"] = _concept(_coding(c.omscds_system("modality"), test.modality))
        if test.date is not None:
            res["effectiveDateTime"] = test.date.isoformat()
        if test.note is not None:
            res["conclusion"] = test.note
        res["conclusionCode"] = conclusion
        self.add("report-", res)


def _plain_urine(test: TestResult) -> bool:
    """A urine test the LOINC encoding carries whole: HVA/VMA values and a judged result."""
    return (
        test.modality == "urine_catecholamines"
        and test.result in _INTERPRETATION
        and test.regions in ((), ("whole_body",))
        and bool(test.quantitative)
        and set(test.quantitative) <= {"hva", "vma"}
        and not (test.findings or test.location or test.histology or test.note or test.extensions)
    )


def case_to_bundle(
    case: Case, kb: KnowledgeBase, *, today: dt.date, patient_id: str = "p1"
) -> dict[str, Any]:
    """Write a case as a FHIR R4 ``collection`` Bundle that ``bundle_to_case`` reads back.

    ``today`` is the date the bundle describes: the birth date is counted back from it, and
    the reader, given the same date, recovers the age (and uses that date as the visit date).
    Not carried: ``extensions`` (free-form) and ``visit_date`` (the reader's own ``today``).

    >>> from omscds.knowledge import load_knowledge
    >>> from omscds.model import parse_case
    >>> b = case_to_bundle(parse_case({"age_months": 19, "findings": {"ataxia": "present"}}),
    ...                    load_knowledge(), today=dt.date(2026, 1, 10))
    >>> [e["resource"]["resourceType"] for e in b["entry"]]
    ['Patient', 'Observation']
    """
    w = _Writer(kb, patient_id)
    patient: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
    if round(case.age_months, 1) != case.age_months:  # finer than the birth date can carry
        patient["extension"] = [{"url": AGE_EXTENSION, "valueDecimal": case.age_months}]
    patient["gender"] = case.sex
    patient["birthDate"] = birth_date_for(case.age_months, today).isoformat()
    w.resources.append(patient)
    for key, state in case.findings.items():
        if state != "unknown":
            w.finding(key, state)
    for name, value in case.history.model_dump(mode="json", exclude_none=True).items():
        w.history(name, value)
    w.severity(case)
    urine_written = False
    for test in case.tests:
        # the reader pools all HVA/VMA values into one test, so only one test goes that way
        if not urine_written and _plain_urine(test):
            w.markers(test)
            urine_written = True
        else:
            w.report(test)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if case.case_id is not None:
        bundle["identifier"] = {"system": CASE_ID_SYSTEM, "value": case.case_id}
    bundle["timestamp"] = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC).isoformat()
    bundle["entry"] = [{"resource": r} for r in w.resources]
    return bundle
