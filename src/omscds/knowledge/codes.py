"""Coded concepts as value objects (HPO, SNOMED CT, LOINC, ORPHA, ICD)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SYSTEM_URIS", "Code"]

#: Canonical FHIR system URIs, used by the interop layer when it writes ``Coding``.
SYSTEM_URIS: dict[str, str] = {
    "HPO": "http://human-phenotype-ontology.org",
    "SNOMEDCT": "http://snomed.info/sct",
    "LOINC": "http://loinc.org",
    "ORPHA": "http://www.orpha.net",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "ICD11": "http://id.who.int/icd/release/11/mms",
}


@dataclass(frozen=True, slots=True)
class Code:
    """A code in a terminology.

    >>> Code("HPO", "HP:0010543", "Opsoclonus").uri
    'http://human-phenotype-ontology.org'
    """

    system: str
    code: str
    display: str = ""

    @property
    def uri(self) -> str:
        return SYSTEM_URIS.get(self.system, self.system)
