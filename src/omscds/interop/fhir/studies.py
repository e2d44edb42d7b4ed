"""FHIR studies in: urine HVA/VMA Observations and imaging DiagnosticReport/ImagingStudy -> tests.

Mapping (docs/fhir-mapping.md):

* urine HVA/VMA (LOINC, clinical-notes.md §9c) become one ``urine_catecholamines`` test. Each
  value is judged by the lab's ``interpretation`` (H/HH/A... high, N/L normal), else by its
  ``referenceRange.high`` in the same unit; a value with neither is not judged (warning).
* a DiagnosticReport's modality comes from ``code`` (omscds modality system, or DICOM MR/CT/US),
  else from its ImagingStudy; regions from the extension ``REGION_EXTENSION`` (SNOMED or omscds
  region codes) or the ImagingStudy's ``series.bodySite``; the result from ``conclusionCode``.
* an ImagingStudy no report refers to is a ``pending`` test.
* omscds' own additions (written by ``case_out``): test findings and histology as
  ``conclusionCode`` in the omscds ``test-finding`` / ``histology`` systems, the note as
  ``conclusion``, the location and named numbers in ``LOCATION_EXTENSION`` /
  ``QUANTITATIVE_EXTENSION``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from omscds.interop.fhir import codes as c
from omscds.knowledge import KnowledgeBase
from omscds.model import MODALITIES, REGIONS
from omscds.model.case import HISTOLOGIES

if TYPE_CHECKING:
    from omscds.interop.fhir.inbound import Extraction

__all__ = [
    "HISTOLOGY_HPO",
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
_PENDING_STATUS = frozenset({"registered", "partial", "preliminary", "available", "unknown"})
_HISTOLOGY = {
    "HP:0003006": "neuroblastoma",
    "432328008": "neuroblastoma",
    "87364003": "neuroblastoma",
    "HP:0006747": "ganglioneuroblastoma",
    "HP:0003005": "ganglioneuroma",
}
#: the HPO term written for each neuroblastic histology (``other`` has none)
HISTOLOGY_HPO: Final = MappingProxyType(
    {h: code for code, h in _HISTOLOGY.items() if code.startswith("HP:")}
)


def _codings(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    return [
        (str(cd.get("system") or ""), cd["code"])
        for cd in concept.get("coding") or ()
        if isinstance(cd, dict) and isinstance(cd.get("code"), str)
    ]


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def judge_marker(res: dict[str, Any]) -> str | None:
    """``positive`` (raised), ``negative``, ``equivocal`` or None when it cannot be judged.

    >>> judge_marker({"interpretation": [{"coding": [{"code": "H"}]}]})
    'positive'
    >>> judge_marker({"valueQuantity": {"value": 5, "unit": "mg/g"},
    ...               "referenceRange": [{"high": {"value": 13, "unit": "mg/g"}}]})
    'negative'
    """
    interp = {code for i in res.get("interpretation") or () for _, code in _codings(i)}
    if interp & c.INTERPRETATION_ABNORMAL:
        return "positive"
    if interp & c.INTERPRETATION_EQUIVOCAL:
        return "equivocal"
    if interp & c.INTERPRETATION_NORMAL:
        return "negative"
    raw = res.get("valueQuantity")
    vq: dict[str, Any] = raw if isinstance(raw, dict) else {}
    value = _num(vq.get("value"))
    for rr in res.get("referenceRange") or ():
        high = rr.get("high") if isinstance(rr, dict) else None
        if not isinstance(high, dict) or value is None:
            continue
        limit = _num(high.get("value"))
        same_unit = (high.get("code") or high.get("unit")) == (vq.get("code") or vq.get("unit"))
        if limit is not None and same_unit:
            return "positive" if value > limit else "negative"
    return None


class StudyReader:
    """Collects studies while the inbound reader walks the resources, then emits case tests."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.test_finding_hpo = {f.hpo: k for k, f in kb.test_findings.items() if f.hpo}
        self.test_finding_keys = frozenset(kb.test_findings)
        self.markers: list[tuple[str, str, str | None, dict[str, Any]]] = []
        self.reports: list[tuple[str, dict[str, Any]]] = []
        self.studies: dict[str, tuple[str, dict[str, Any]]] = {}

    def add_marker(self, path: str, res: dict[str, Any], analyte: str, ex: Extraction) -> None:
        verdict = judge_marker(res)
        if verdict is None:
            ex.warnings.append(
                f"{path}: urine {analyte.upper()} has no interpretation or reference range "
                "in the same unit; not judged"
            )
        self.markers.append((path, analyte, verdict, res))

    def add(self, path: str, res: dict[str, Any], ex: Extraction) -> None:
        if res["resourceType"] == "ImagingStudy":
            rid = res.get("id")
            self.studies[f"ImagingStudy/{rid}" if isinstance(rid, str) else path] = (path, res)
        else:
            self.reports.append((path, res))

    def tests(self, ex: Extraction) -> list[dict[str, Any]]:
        dated: list[tuple[str, int, dict[str, Any]]] = []
        urine = self._urine()
        if urine:
            dated.append((urine.get("date", ""), 0, urine))
        used: set[str] = set()
        for i, (path, rep) in enumerate(self.reports, start=1):
            test = self._report(path, rep, used, ex)
            if test:
                dated.append((test.get("date", ""), i, test))
        for ref, (path, st) in self.studies.items():
            if ref in used:
                continue
            modality = self._modality(st.get("modality") or [], st)
            regions = self._regions(st, None)
            if modality and (regions or modality not in ("ct", "mri", "ultrasound")):
                test = {"modality": modality, "regions": regions, "result": "pending"}
                if isinstance(st.get("started"), str):
                    test["date"] = st["started"][:10]
                dated.append((test.get("date", ""), 10_000, test))
            else:
                ex.warnings.append(f"{path}: ImagingStudy modality or body site not usable")
        dated.sort(key=lambda t: (t[0] == "", t[0], t[1]))
        return [t for _, _, t in dated]

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
            vq = res.get("valueQuantity") or {}
            value = _num(vq.get("value"))
            if value is not None:
                quantitative[analyte] = value
            d = res.get("effectiveDateTime") or res.get("issued")
            if isinstance(d, str):
                dates.append(d[:10])
        if quantitative:
            test["quantitative"] = quantitative
        if dates:
            test["date"] = max(dates)
        return test

    def _modality(self, concepts: Any, res: dict[str, Any]) -> str | None:
        items = concepts if isinstance(concepts, list) else [concepts]
        for concept in items:
            pairs = _codings(concept) if "coding" in (concept or {}) else []
            if isinstance(concept, dict) and "code" in concept and "coding" not in concept:
                pairs = [(str(concept.get("system") or ""), str(concept["code"]))]
            for system, code in pairs:
                if system == c.omscds_system("modality") and code in MODALITIES:
                    return code
                if system == c.DICOM_SYSTEM and code in c.DICOM_MODALITY:
                    return c.DICOM_MODALITY[code]
        return None

    def _regions(self, study: dict[str, Any] | None, report: dict[str, Any] | None) -> list[str]:
        found: list[str] = []
        sites: list[tuple[str, str]] = []
        for ext in (report or {}).get("extension") or ():
            if isinstance(ext, dict) and ext.get("url") == REGION_EXTENSION:
                sites += _codings(ext.get("valueCodeableConcept"))
        for series in (study or {}).get("series") or ():
            site = series.get("bodySite") if isinstance(series, dict) else None
            if isinstance(site, dict) and isinstance(site.get("code"), str):
                sites.append((str(site.get("system") or ""), site["code"]))
        for system, code in sites:
            region = (
                c.SNOMED_REGIONS.get(code)
                if system == c.SNOMED_SYSTEM
                else code
                if system == c.omscds_system("region") and code in REGIONS
                else None
            )
            if region and region not in found:
                found.append(region)
        return found

    def _report(
        self, path: str, rep: dict[str, Any], used: set[str], ex: Extraction
    ) -> dict[str, Any] | None:
        study: dict[str, Any] | None = None
        for ref in rep.get("imagingStudy") or ():
            key = ref.get("reference") if isinstance(ref, dict) else None
            if key in self.studies:
                used.add(key)
                study = self.studies[key][1]
        modality = self._modality(rep.get("code"), rep) or (
            self._modality(study.get("modality") or [], study) if study else None
        )
        if modality is None:
            ex.warnings.append(f"{path}: DiagnosticReport modality not recognised; ignored")
            return None
        regions = self._regions(study, rep)
        if not regions and modality in ("ct", "mri", "ultrasound"):
            ex.problems.append(
                (
                    path,
                    f"{modality} report without a body region ({REGION_EXTENSION} "
                    "extension or ImagingStudy.series.bodySite)",
                )
            )
            return None
        conclusion = _codings_list(rep.get("conclusionCode"))
        result, findings, histology, explicit = None, [], None, None
        for system, code in conclusion:
            if system == c.omscds_system("study-result") and code in _RESULTS:
                result = code
            elif system == c.omscds_system("histology") and code in HISTOLOGIES:
                explicit = code
            elif system == c.omscds_system("test-finding") and code in self.test_finding_keys:
                findings.append(code)
            elif code in c.TUMOUR_CODES:
                result = result or "positive"
                histology = _HISTOLOGY.get(code)
            elif system == c.SNOMED_SYSTEM and code in c.STUDY_POSITIVE:
                result = result or "positive"
            elif system == c.SNOMED_SYSTEM and code in c.STUDY_NEGATIVE:
                result = result or "negative"
            elif code in self.test_finding_hpo:
                findings.append(self.test_finding_hpo[code])
        if result is None and findings:
            result = "positive"
        if result is None:
            if rep.get("status") in _PENDING_STATUS:
                result = "pending"
            else:
                ex.warnings.append(f"{path}: no coded result in conclusionCode; ignored")
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
        d = rep.get("effectiveDateTime") or rep.get("issued")
        if isinstance(d, str):
            test["date"] = d[:10]
        _extras(rep, test)
        return test


def _extras(rep: dict[str, Any], test: dict[str, Any]) -> None:
    """The note, location and named numbers omscds writes on a report (see ``case_out``)."""
    if isinstance(rep.get("conclusion"), str):
        test["note"] = rep["conclusion"]
    quantitative: dict[str, float] = {}
    for ext in rep.get("extension") or ():
        if not isinstance(ext, dict):
            continue
        if ext.get("url") == LOCATION_EXTENSION and isinstance(ext.get("valueString"), str):
            test["location"] = ext["valueString"]
        elif ext.get("url") == QUANTITATIVE_EXTENSION:
            for sub in ext.get("extension") or ():
                value = _num(sub.get("valueDecimal")) if isinstance(sub, dict) else None
                if value is not None and isinstance(sub.get("url"), str):
                    quantitative[sub["url"]] = value
    if quantitative:
        test["quantitative"] = quantitative


def _codings_list(concepts: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for concept in concepts if isinstance(concepts, list) else ():
        out += _codings(concept)
    return out
