"""Terminology the FHIR adapter reads and writes, kept as data apart from the lookup code.

LOINC codes for urine homovanillic acid (HVA) and vanillylmandelic acid (VMA) come from
shared/knowledge/clinical-notes.md §9c (a German MII oncology ValueSet; verify against the LOINC
table). HPO ids come from the knowledge base (``kb.findings[*].hpo`` and ``kb.hpo_index``), never
from here. SNOMED CT finding codes are the HPO cross-references listed in
shared/knowledge/interop-notes.md §4.1 (verify in a SNOMED browser); SNOMED body-structure codes
are the usual top-level concepts for each region. None of these is a clinical number.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = [
    "ABSENT_CODES",
    "DICOM_MODALITY",
    "DICOM_SYSTEM",
    "HPO_SYSTEMS",
    "HVA_LOINC",
    "INTERPRETATION_ABNORMAL",
    "INTERPRETATION_EQUIVOCAL",
    "INTERPRETATION_NORMAL",
    "INTERPRETATION_SYSTEM",
    "LOINC_SYSTEM",
    "OMSCDS_CS",
    "OMS_ORPHA",
    "OMS_SNOMED",
    "PRESENT_CODES",
    "REGION_SNOMED",
    "SNOMED_FINDINGS",
    "SNOMED_REGIONS",
    "SNOMED_SYSTEM",
    "STUDY_NEGATIVE",
    "STUDY_POSITIVE",
    "TUMOUR_CODES",
    "URINE_LOINC",
    "VMA_LOINC",
    "omscds_system",
]

LOINC_SYSTEM: Final = "http://loinc.org"
SNOMED_SYSTEM: Final = "http://snomed.info/sct"
DICOM_SYSTEM: Final = "http://dicom.nema.org/resources/ontology/DCM"
INTERPRETATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#: HPO is written with the knowledge base's canonical URI; these spellings are also accepted
HPO_SYSTEMS: Final = frozenset(
    {
        "http://human-phenotype-ontology.org",
        "http://purl.obolibrary.org/obo/hp.owl",
        "https://hpo.jax.org",
        "http://hpo.jax.org",
        "urn:oid:2.16.840.1.113883.6.339",
    }
)

#: omscds' own code systems (modality, region, study result, finding keys, output concepts)
OMSCDS_CS: Final = "https://omscds.org/fhir/CodeSystem/"


def omscds_system(name: str) -> str:
    """The URI of one of omscds' own code systems.

    >>> omscds_system("modality")
    'https://omscds.org/fhir/CodeSystem/modality'
    """
    return OMSCDS_CS + name


# clinical-notes.md §9c: spot and 24-hour urine, mass and molar ratios
HVA_LOINC: Final = frozenset({"11146-8", "22708-2", "13760-4", "2436-4", "53595-5"})
VMA_LOINC: Final = frozenset({"3124-5", "14948-4", "30571-4", "3122-9", "26706-2"})
#: the spot-urine creatinine ratios used in children, written on outbound ServiceRequests
URINE_LOINC: Final = (
    ("11146-8", "Homovanillate/Creatinine [Mass Ratio] in Urine"),
    ("3124-5", "Vanillylmandelate/Creatinine [Mass Ratio] in Urine"),
)

# interop-notes.md §4.1 (HPO xrefs; verify). Keyed by SNOMED code -> omscds finding key.
SNOMED_FINDINGS: Final = MappingProxyType(
    {
        "194177006": "opsoclonus",
        "17450006": "myoclonus",
        "127324008": "myoclonus",
        "85102008": "ataxia",
    }
)

# clinical-notes.md §9b: codes for OMS itself (written on outputs; accepted on inputs)
OMS_SNOMED: Final = ("230350000", "Opsoclonus-myoclonus syndrome")
OMS_ORPHA: Final = ("ORPHA:1183", "Opsoclonus-myoclonus syndrome")

#: conclusion codes meaning "a neuroblastic tumour" (HPO ids and SNOMED; interop-notes §4.1)
TUMOUR_CODES: Final = frozenset({"HP:0003006", "HP:0006747", "HP:0003005", "432328008", "87364003"})
#: SNOMED qualifiers read as a study's result
STUDY_POSITIVE: Final = frozenset({"263654008"})  # Abnormal
STUDY_NEGATIVE: Final = frozenset({"17621005", "281900007"})  # Normal; No abnormality detected

#: SNOMED qualifier values for a finding given as valueCodeableConcept
PRESENT_CODES: Final = frozenset({"373066001", "52101004", "410515003"})  # Yes; Present; known
ABSENT_CODES: Final = frozenset({"373067005", "2667000", "410516002"})  # No; Absent; known absent

#: v3 ObservationInterpretation codes
INTERPRETATION_ABNORMAL: Final = frozenset({"H", "HH", "HU", "A", "AA", "POS", "DET"})
INTERPRETATION_NORMAL: Final = frozenset({"N", "L", "LL", "LU", "NEG", "ND"})
INTERPRETATION_EQUIVOCAL: Final = frozenset({"IND", "E", "EQV"})

#: DICOM modality codes that name one case modality without ambiguity (NM and PT do not)
DICOM_MODALITY: Final = MappingProxyType({"MR": "mri", "CT": "ct", "US": "ultrasound"})

#: SNOMED CT body structures for the case's regions
REGION_SNOMED: Final = MappingProxyType(
    {
        "brain": ("12738006", "Brain structure"),
        "spine": ("421060004", "Structure of vertebral column"),
        "neck": ("45048000", "Neck structure"),
        "chest": ("51185008", "Thoracic structure"),
        "abdomen": ("113345001", "Abdominal structure"),
        "pelvis": ("12921003", "Pelvic structure"),
        "whole_body": ("38266002", "Entire body as a whole"),
    }
)
SNOMED_REGIONS: Final = MappingProxyType({code: r for r, (code, _) in REGION_SNOMED.items()})
