"""What every adapter (FHIR Bundle, CDS prefetch, phenopacket) hands on: a typed case.

``Intake`` holds a validated ``Case``, where each field came from (``provenance``: case field
path -> the resource or document path it was read from) and the ``Notice`` of everything not
understood or used with a caveat (which resource, which code, why), never a bare dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from omscds.model import Case

__all__ = ["Intake", "Notice"]


@dataclass(frozen=True)
class Notice:
    """Something in the input that was not used, or used with a caveat."""

    path: str
    resource: str
    why: str
    code: str = ""

    def __str__(self) -> str:
        where = self.resource or self.path
        return f"{where}: {self.why}" + (f" [{self.code}]" if self.code else "")

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "resource": self.resource, "code": self.code, "why": self.why}


@dataclass(frozen=True)
class Intake:
    """A case read from outside, with where each field came from and what was not used."""

    case: Case
    provenance: Mapping[str, str]
    warnings: tuple[Notice, ...] = ()
    patient_id: str | None = None
    #: the resources the case was built from (``RiskAssessment.basis``)
    basis: tuple[str, ...] = ()
