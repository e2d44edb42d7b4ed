"""Coded concepts as value objects, and the one table of code-system URIs.

``Code(system, code, display)`` names its system by a short id (``HPO``, ``SNOMEDCT``, ``LOINC``,
``CPT``, ``HCPCS`` (Level II), ...). ``SYSTEM_URIS`` gives each id the canonical URI written on output;
``system_id`` maps any accepted spelling of a system URI (the canonical one, known aliases,
a trailing slash) back to the id, so readers compare ids, never URI strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["SYSTEM_ALIASES", "SYSTEM_URIS", "Code", "system_id"]

#: canonical FHIR system URIs (HL7 terminology page "Using external terminologies in FHIR";
#: HPO as omscds has always written it), used when the interop layer writes a ``Coding``
SYSTEM_URIS: Final = MappingProxyType(
    {
        "HPO": "http://human-phenotype-ontology.org",
        "SNOMEDCT": "http://snomed.info/sct",
        "LOINC": "http://loinc.org",
        "CPT": "http://www.ama-assn.org/go/cpt",
        "HCPCS": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "ICD10": "http://hl7.org/fhir/sid/icd-10",
        "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
        "ICD11": "http://id.who.int/icd/release/11/mms",
        "ORPHA": "http://www.orpha.net",
        "DICOM": "http://dicom.nema.org/resources/ontology/DCM",
        "UCUM": "http://unitsofmeasure.org",
    }
)

#: other spellings senders use for the same systems (OBO PURLs, OIDs, https variants)
SYSTEM_ALIASES: Final = MappingProxyType(
    {
        "http://purl.obolibrary.org/obo/hp": "HPO",
        "http://purl.obolibrary.org/obo/hp.owl": "HPO",
        "https://hpo.jax.org": "HPO",
        "http://hpo.jax.org": "HPO",
        "https://human-phenotype-ontology.org": "HPO",
        "urn:oid:2.16.840.1.113883.6.339": "HPO",
        "urn:oid:2.16.840.1.113883.6.96": "SNOMEDCT",
        "https://snomed.info/sct": "SNOMEDCT",
        "urn:oid:2.16.840.1.113883.6.1": "LOINC",
        "https://loinc.org": "LOINC",
        "urn:oid:2.16.840.1.113883.6.12": "CPT",
        "https://www.ama-assn.org/go/cpt": "CPT",
        "urn:oid:2.16.840.1.113883.6.285": "HCPCS",
        "https://www.cms.gov/Medicare/Coding/MedHCPCSGenInfo/index.html": "HCPCS",
        "urn:oid:2.16.840.1.113883.6.3": "ICD10",
        "urn:oid:2.16.840.1.113883.6.90": "ICD10CM",
        "https://www.orpha.net": "ORPHA",
        "http://www.orpha.net/ORDO": "ORPHA",
        "urn:oid:1.2.840.10008.2.16.4": "DICOM",
    }
)

_BY_URI: Final = MappingProxyType(
    {**{uri: sid for sid, uri in SYSTEM_URIS.items()}, **SYSTEM_ALIASES}
)


def system_id(uri: object) -> str | None:
    """The short id of a code-system URI (any accepted spelling), or None when unknown.

    >>> system_id("http://purl.obolibrary.org/obo/hp")
    'HPO'
    >>> system_id("http://snomed.info/sct/") , system_id("http://example.org/local")
    ('SNOMEDCT', None)
    """
    if not isinstance(uri, str) or not uri:
        return None
    return _BY_URI.get(uri) or _BY_URI.get(uri.rstrip("/"))


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
