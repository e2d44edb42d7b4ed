"""FHIR studies in: urine HVA/VMA Observations, DiagnosticReport/ImagingStudy/Procedure -> tests.

Mapping (docs/fhir-mapping.md); codes come from ``kb.terminology``:

* urine HVA/VMA (``observations``) become one ``urine_catecholamines`` test. Each value is judged
  by the lab's ``interpretation`` (H/HH/A... high, N/L normal), else by its
  ``referenceRange.high`` in the same unit; a value with neither is not judged (warning).
* a study's modality and regions come from its code (``DiagnosticReport.code``,
  ``ImagingStudy.procedureCode``, ``Procedure.code``) through the ``procedures`` table (CPT,
  LOINC, SNOMED CT), or the omscds modality system, or a DICOM modality (MR/CT/US); regions also
  from ``REGION_EXTENSION``, ``bodySite`` (Procedure, ImagingStudy series) through the
  ``regions`` table. The result comes from ``conclusionCode`` (``results`` and ``conditions``).
* an ImagingStudy or a completed Procedure no report refers to is a ``pending`` test.
* a confirmed, current neuroblastic-tumour Condition is a positive biopsy with that histology.
* CT/MRI/ultrasound without a usable region is not used (a warning): assuming a region could
  mark the tumour search as done where it was not.
* omscds' own additions (written by ``case_out``): test findings and histology as
  ``conclusionCode`` in the omscds ``test-finding`` / ``histology`` systems, the note as
  ``conclusion``, the location and named numbers in ``LOCATION_EXTENSION`` /
  ``QUANTITATIVE_EXTENSION``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from omscds.interop.fhir import codes as c
from omscds.interop.fhir.jsonshape import (
    Cd,
    as_dict,
    as_list,
    as_str,
    codings,
    codings_of_list,
    number,
)
from omscds.knowledge import KnowledgeBase
from omscds.model import MODALITIES, REGIONS
from omscds.model.case import HISTOLOGIES

if TYPE_CHECKING:
    from omscds.interop.fhir.extraction import Extraction

__all__ = [
    "LOCATION_EXTENSION",
    "QUANTITATIVE_EXTENSION",
    "REGION_EXTENSION",
    "StudyReader",
    "judge_marker",
]

REGION_EXTENSION = "https://omscds.org/fhir/StructureDefinition/body-region"
#: ``valueString``: where the lesion is (the case's ``tests[].location``)
LOCATION_EXTENSION = "https://omscds.org/fhir/StructureDefinition/finding-location"
#: complex extension: one sub-extension per named number (``url`` = name, ``valueDecimal``)
QUANTITATIVE_EXTENSION = "https://omscds.org/fhir/StructureDefinition/quantitative"
_RESULTS = ("positive", "negative", "equivocal", "pending")
_PENDING_STATUS: Final = frozenset({"registered", "partial", "preliminary", "available", "unknown"})
_PROCEDURE_DONE: Final = frozenset({"completed", "in-progress"})
_NEUROBLASTIC: Final = frozenset({"neuroblastoma", "ganglioneuroblastoma", "ganglioneuroma"})


def judge_marker(res: dict[str, Any]) -> str | None:
    """``positive`` (raised), ``negative``, ``equivocal`` or None when it cannot be judged.

    >>> judge_marker({"interpretation": [{"coding": [{"code": "H"}]}]})
    'positive'
    >>> judge_marker({"valueQuantity": {"value": 5, "unit": "mg/g"},
    ...               "referenceRange": [{"high": {"value": 13, "unit": "mg/g"}}]})
    'negative'
    """
    interp = {cd.code for i in as_list(res.get("interpretation")) for cd in codings(i)}
    if interp & c.INTERPRETATION_ABNORMAL:
        return "positive"
    if interp & c.INTERPRETATION_EQUIVOCAL:
        return "equivocal"
    if interp & c.INTERPRETATION_NORMAL:
        return "negative"
    vq = as_dict(res.get("valueQuantity"))
    value = number(vq.get("value"))
    for rr in as_list(res.get("referenceRange")):
        high = as_dict(as_dict(rr).get("high"))
        limit = number(high.get("value"))
        if limit is None or value is None:
            continue
        unit = as_str(high.get("code")) or as_str(high.get("unit"))
        if unit == (as_str(vq.get("code")) or as_str(vq.get("unit"))):
            return "positive" if value > limit else "negative"
    return None


def _where(path: str, res: dict[str, Any]) -> str:
    rtype, rid = res.get("resourceType"), res.get("id")
    return f"{rtype}/{rid}" if isinstance(rtype, str) and isinstance(rid, str) else path


def _day(res: dict[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = res.get(k)
        if isinstance(v, dict):
            v = v.get("start")
        if isinstance(v, str) and len(v) >= 4:
            return v[:10]
    return None


class StudyReader:
    """Collects studies while the inbound reader walks the resources, then emits case tests."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.terms = kb.terminology
        # derived from the knowledge base only: built once per knowledge base (``kb.memo``)
        #: modalities whose regions must be known (CT, MRI, ultrasound: modalities.yaml)
        self.regions_required: frozenset[str] = kb.memo(
            "fhir.studies.regions_required",
            lambda: frozenset(k for k, m in kb.modalities.items() if m.regions_required),
        )
        self.test_finding_hpo: Mapping[str, str] = kb.memo(
            "fhir.studies.test_finding_hpo",
            lambda: MappingProxyType({f.hpo: k for k, f in kb.test_findings.items() if f.hpo}),
        )
        self.test_finding_keys: frozenset[str] = kb.memo(
            "fhir.studies.test_finding_keys", lambda: frozenset(kb.test_findings)
        )
        self.markers: list[tuple[str, str, str | None, dict[str, Any]]] = []
        self.reports: list[tuple[str, dict[str, Any]]] = []
        self.studies: dict[str, tuple[str, dict[str, Any]]] = {}
        self.procedures: list[tuple[str, dict[str, Any]]] = []
        self.diagnoses: list[dict[str, Any]] = []

    # -- collecting ------------------------------------------------------------------------

    def add_marker(self, path: str, res: dict[str, Any], analyte: str, ex: Extraction) -> bool:
        verdict = judge_marker(res)
        if verdict is None:
            ex.warn(
                path,
                res,
                f"urine {analyte.upper()} has no interpretation or reference range in the same "
                "unit; not judged",
            )
        self.markers.append((path, analyte, verdict, res))
        return verdict is not None

    def add(self, path: str, res: dict[str, Any], ex: Extraction) -> bool:
        rtype = res["resourceType"]
        if rtype == "ImagingStudy":
            rid = as_str(res.get("id"))
            self.studies[f"ImagingStudy/{rid}" if rid else path] = (path, res)
        elif rtype == "Procedure":
            self.procedures.append((path, res))
        else:
            self.reports.append((path, res))
        return True

    def add_diagnosis(self, path: str, res: dict[str, Any], histology: str, ex: Extraction) -> bool:
        """A confirmed neuroblastic tumour diagnosis: a positive biopsy with that histology."""
        if histology not in _NEUROBLASTIC:
            return False
        test: dict[str, Any] = {
            "modality": "biopsy",
            "result": "positive",
            "histology": histology,
            "note": f"confirmed {histology} diagnosis ({path})",
            "_from": _where(path, res),
        }
        day = _day(res, "onsetDateTime", "recordedDate")
        if day:
            test["date"] = day
        ex.warn(path, res, f"confirmed {histology} diagnosis read as a positive biopsy")
        self.diagnoses.append(test)
        return True

    # -- codes -----------------------------------------------------------------------------

    def _procedure(self, items: list[Cd]) -> tuple[str, list[str]] | None:
        """(modality, regions) named by a procedure code, the omscds code or a DICOM modality."""
        for cd in items:
            entry = self.terms.entry("procedures", cd.sid, cd.code)
            if entry is not None and entry.modality:
                return entry.modality, list(entry.regions)
        for cd in items:
            if cd.system == c.omscds_system("modality") and cd.code in MODALITIES:
                return cd.code, []
            if cd.sid == "DICOM" and cd.code in c.DICOM_MODALITY:
                return c.DICOM_MODALITY[cd.code], []
        return None

    def _sites(self, items: list[Cd], path: str, res: dict[str, Any], ex: Extraction) -> list[str]:
        found: list[str] = []
        for cd in items:
            entry = self.terms.entry("regions", cd.sid, cd.code)
            regions: tuple[str, ...] = entry.regions if entry else ()
            if not regions and cd.system == c.omscds_system("region") and cd.code in REGIONS:
                regions = (cd.code,)
            if not regions:
                ex.warn(path, res, "body site not in omscds' region table; not used", cd.label())
            for region in regions:
                if region not in found:
                    found.append(region)
        return found

    def _study_codes(self, st: dict[str, Any]) -> list[Cd]:
        items = codings_of_list(st.get("modality")) + codings_of_list(st.get("procedureCode"))
        for series in as_list(st.get("series")):
            items += codings(as_dict(series).get("modality"))
        return items

    def _study_sites(self, st: dict[str, Any], path: str, ex: Extraction) -> list[str]:
        sites: list[Cd] = []
        for series in as_list(st.get("series")):
            sites += codings(as_dict(series).get("bodySite"))
        return self._sites(sites, path, st, ex)

    # -- emitting --------------------------------------------------------------------------

    def tests(self, ex: Extraction) -> list[dict[str, Any]]:
        dated: list[tuple[str, int, dict[str, Any]]] = []
        urine = self._urine()
        if urine:
            dated.append((urine.get("date", ""), 0, urine))
        used: set[str] = set()
        for i, (path, rep) in enumerate(self.reports, start=1):
            test = self._report(path, rep, used, ex)
            if test:
                test["_from"] = _where(path, rep)
                dated.append((test.get("date", ""), i, test))
        for ref, (path, st) in self.studies.items():
            if ref in used:
                continue
            test = self._pending(
                path, st, self._study_codes(st), self._study_sites(st, path, ex), ex
            )
            if test:
                if _day(st, "started"):
                    test["date"] = _day(st, "started")
                test["_from"] = _where(path, st)
                dated.append((test.get("date", ""), 10_000, test))
        for path, proc in self.procedures:
            test = self._procedure_test(path, proc, ex)
            if test:
                test["_from"] = _where(path, proc)
                dated.append((test.get("date", ""), 20_000, test))
        for test in self.diagnoses:
            dated.append((test.get("date", ""), 30_000, test))
        dated.sort(key=lambda t: (t[0] == "", t[0], t[1]))
        return [t for _, _, t in dated]

    def _pending(
        self, path: str, res: dict[str, Any], items: list[Cd], sites: list[str], ex: Extraction
    ) -> dict[str, Any] | None:
        named = self._procedure(items)
        if named is None:
            ex.unrecognised(
                path, res, {"coding": [{"system": d.system, "code": d.code} for d in items]}
            )
            return None
        modality, regions = named
        regions = regions or sites
        if modality in self.regions_required and not regions:
            ex.warn(path, res, f"{modality} without a usable body region; not used")
            return None
        test: dict[str, Any] = {"modality": modality, "result": "pending"}
        if regions:
            test["regions"] = regions
        return test

    def _procedure_test(
        self, path: str, proc: dict[str, Any], ex: Extraction
    ) -> dict[str, Any] | None:
        status = as_str(proc.get("status"))
        if status not in _PROCEDURE_DONE:
            ex.warn(path, proc, f"procedure status {status}; not used")
            return None
        sites = self._sites(codings_of_list(proc.get("bodySite")), path, proc, ex)
        test = self._pending(path, proc, codings(proc.get("code")), sites, ex)
        if test is None:
            return None
        day = _day(proc, "performedDateTime", "performedPeriod")
        if day:
            test["date"] = day
        return test

    def _urine(self) -> dict[str, Any] | None:
        judged = [(a, v, r) for _, a, v, r in self.markers if v is not None]
        if not judged:
            return None
        verdicts = {v for _, v, _ in judged}
        result = (
            "positive"
            if "positive" in verdicts
            else "equivocal"
            if "equivocal" in verdicts
            else "negative"
        )
        test: dict[str, Any] = {"modality": "urine_catecholamines", "result": result}
        quantitative: dict[str, float] = {}
        dates = []
        for analyte, _, res in judged:
            value = number(as_dict(res.get("valueQuantity")).get("value"))
            if value is not None:
                quantitative[analyte] = value
            d = _day(res, "effectiveDateTime", "issued")
            if d:
                dates.append(d)
        if quantitative:
            test["quantitative"] = quantitative
        if dates:
            test["date"] = max(dates)
        test["_from"] = ", ".join(_where(p, r) for p, _, v, r in self.markers if v is not None)
        return test

    def _report(
        self, path: str, rep: dict[str, Any], used: set[str], ex: Extraction
    ) -> dict[str, Any] | None:
        study: dict[str, Any] | None = None
        for ref in as_list(rep.get("imagingStudy")):
            key = as_str(as_dict(ref).get("reference"))
            if key in self.studies:
                used.add(key)
                study = self.studies[key][1]
        named = self._procedure(codings(rep.get("code")))
        if named is None and study is not None:
            named = self._procedure(self._study_codes(study))
        if named is None:
            ex.unrecognised(path, rep, rep.get("code"))
            return None
        modality, regions = named
        ext_sites: list[Cd] = []
        for ext in as_list(rep.get("extension")):
            if isinstance(ext, dict) and ext.get("url") == REGION_EXTENSION:
                ext_sites += codings(ext.get("valueCodeableConcept"))
        regions = regions or self._sites(ext_sites, path, rep, ex)
        if not regions and study is not None:
            regions = self._study_sites(study, path, ex)
        if not regions and modality in self.regions_required:
            ex.warn(
                path,
                rep,
                f"{modality} report without a usable body region ({REGION_EXTENSION} extension, "
                "a region-specific code or ImagingStudy.series.bodySite); not used",
            )
            return None
        result, findings, histology, explicit = self._conclusion(rep)
        if result is None:
            if as_str(rep.get("status")) in _PENDING_STATUS:
                result = "pending"
            else:
                ex.warn(path, rep, "no coded result in conclusionCode; not used")
                return None
        test: dict[str, Any] = {"modality": modality, "result": result}
        if regions:
            test["regions"] = regions
        if findings:
            test["findings"] = findings
        if explicit:
            test["histology"] = explicit
        elif histology and modality == "biopsy":
            test["histology"] = histology
        day = _day(rep, "effectiveDateTime", "effectivePeriod", "issued")
        if day:
            test["date"] = day
        _extras(rep, test)
        return test

    def _conclusion(
        self, rep: dict[str, Any]
    ) -> tuple[str | None, list[str], str | None, str | None]:
        result: str | None = None
        findings: list[str] = []
        histology: str | None = None
        explicit: str | None = None
        for cd in codings_of_list(rep.get("conclusionCode")):
            tumour = self.terms.concept("conditions", cd.sid, cd.code)
            if cd.system == c.omscds_system("study-result") and cd.code in _RESULTS:
                result = cd.code
            elif cd.system == c.omscds_system("histology") and cd.code in HISTOLOGIES:
                explicit = cd.code
            elif cd.system == c.omscds_system("test-finding") and cd.code in self.test_finding_keys:
                findings.append(cd.code)
            elif tumour in _NEUROBLASTIC:
                result = result or "positive"
                histology = tumour
            elif self.terms.concept("results", cd.sid, cd.code) == "positive":
                result = result or "positive"
            elif self.terms.concept("results", cd.sid, cd.code) == "negative":
                result = result or "negative"
            elif cd.code in self.test_finding_hpo:
                findings.append(self.test_finding_hpo[cd.code])
        if result is None and findings:
            result = "positive"
        return result, findings, histology, explicit


def _extras(rep: dict[str, Any], test: dict[str, Any]) -> None:
    """The note, location and named numbers omscds writes on a report (see ``case_out``)."""
    if isinstance(rep.get("conclusion"), str):
        test["note"] = rep["conclusion"]
    quantitative: dict[str, float] = {}
    for ext in as_list(rep.get("extension")):
        if not isinstance(ext, dict):
            continue
        if ext.get("url") == LOCATION_EXTENSION and isinstance(ext.get("valueString"), str):
            test["location"] = ext["valueString"]
        elif ext.get("url") == QUANTITATIVE_EXTENSION:
            for sub in as_list(ext.get("extension")):
                sub = as_dict(sub)
                value = number(sub.get("valueDecimal"))
                if value is not None and isinstance(sub.get("url"), str):
                    quantitative[sub["url"]] = value
    if quantitative:
        test["quantitative"] = quantitative
