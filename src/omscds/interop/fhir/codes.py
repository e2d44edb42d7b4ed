"""FHIR-side code constants: omscds' own code systems, v3 interpretation and DICOM modality codes.

Clinical codes (findings, answers, regions, conditions, results, laboratory observations,
procedures) are knowledge-base data (``knowledge/data/terminology.yaml``, ``kb.terminology``)
and code-system URIs are one table (``omscds.knowledge.codes.SYSTEM_URIS``); this module only
holds what FHIR itself defines for the elements the adapter reads, and omscds' private systems.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from omscds.knowledge.codes import SYSTEM_URIS

__all__ = [
    "DICOM_MODALITY",
    "DICOM_SYSTEM",
    "INTERPRETATION_ABNORMAL",
    "INTERPRETATION_EQUIVOCAL",
    "INTERPRETATION_NORMAL",
    "INTERPRETATION_SYSTEM",
    "LOINC_SYSTEM",
    "OMSCDS_CS",
    "SNOMED_SYSTEM",
    "omscds_system",
]

LOINC_SYSTEM: Final = SYSTEM_URIS["LOINC"]
SNOMED_SYSTEM: Final = SYSTEM_URIS["SNOMEDCT"]
DICOM_SYSTEM: Final = SYSTEM_URIS["DICOM"]
INTERPRETATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

#: omscds' own code systems (modality, region, study result, finding keys, output concepts)
OMSCDS_CS: Final = "https://omscds.org/fhir/CodeSystem/"


def omscds_system(name: str) -> str:
    """The URI of one of omscds' own code systems.

    >>> omscds_system("modality")
    'https://omscds.org/fhir/CodeSystem/modality'
    """
    return OMSCDS_CS + name


#: v3 ObservationInterpretation codes (FHIR R4 required value set for Observation.interpretation)
INTERPRETATION_ABNORMAL: Final = frozenset({"H", "HH", "HU", "A", "AA", "POS", "DET"})
INTERPRETATION_NORMAL: Final = frozenset({"N", "L", "LL", "LU", "NEG", "ND"})
INTERPRETATION_EQUIVOCAL: Final = frozenset({"IND", "E", "EQV"})

#: DICOM modality codes that name one case modality without ambiguity (NM and PT do not)
DICOM_MODALITY: Final = MappingProxyType({"MR": "mri", "CT": "ct", "US": "ultrasound"})
