"""Interoperability: FHIR R4 in and out, CDS Hooks services, GA4GH Phenopackets import.

``fhir.resources`` is imported only inside this package.
"""

from __future__ import annotations
