"""What a reader found: the case, where each field came from, and what it could not use.

``Extraction`` is the working result of the FHIR readers (a case *document*, checked later);
``Extraction.intake()`` gives what every adapter hands on (``omscds.interop.intake.Intake``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from omscds.errors import InteropError
from omscds.interop.fhir.jsonshape import codings
from omscds.interop.intake import Intake, Notice
from omscds.model import parse_case

__all__ = ["Extraction", "Intake", "Notice", "ref_of"]

#: at most this many "not recognised" notices per resource type; the rest are counted
_UNRECOGNISED_LISTED = 20


def ref_of(res: dict[str, Any]) -> str:
    rtype, rid = res.get("resourceType"), res.get("id")
    return f"{rtype}/{rid}" if isinstance(rtype, str) and isinstance(rid, str) else ""


@dataclass
class Extraction:
    """What the inbound reader found: a case document, and what it could not use."""

    case: dict[str, Any]
    patient_id: str | None = None
    basis: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    #: diagnoses recorded in the input (``oms``: "confirmed" / "provisional"), reported, not used
    diagnoses: dict[str, str] = field(default_factory=dict)
    #: where each case field came from: ``findings.ataxia`` -> ``Condition/c2`` (or a FHIR path)
    provenance: dict[str, str] = field(default_factory=dict)
    _unrecognised: dict[str, int] = field(default_factory=dict, repr=False)

    def warn(self, path: str, res: dict[str, Any], why: str, code: str = "") -> None:
        self.warnings.append(Notice(path, ref_of(res), why, code))

    def unrecognised(self, path: str, res: dict[str, Any], concept: Any) -> None:
        rtype = str(res.get("resourceType"))
        n = self._unrecognised[rtype] = self._unrecognised.get(rtype, 0) + 1
        if n <= _UNRECOGNISED_LISTED:
            shown = ", ".join(cd.label() for cd in codings(concept)) or "no coding"
            self.warn(path, res, f"{rtype} code not recognised; not used", shown)

    def finish(self) -> None:
        for rtype, n in sorted(self._unrecognised.items()):
            if n > _UNRECOGNISED_LISTED:
                more = n - _UNRECOGNISED_LISTED
                self.warnings.append(
                    Notice("", "", f"{more} more {rtype} resources with codes not recognised")
                )
        self._unrecognised.clear()

    def raise_problems(self) -> None:
        if self.problems:
            path, msg = self.problems[0]
            raise InteropError(
                f"{msg}" + (f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""),
                path=path,
            )

    def intake(self) -> Intake:
        """The typed result (raises InputError when the case document is invalid)."""
        self.raise_problems()
        return Intake(
            case=parse_case(self.case),
            provenance=MappingProxyType(dict(self.provenance)),
            warnings=tuple(self.warnings),
            patient_id=self.patient_id,
            basis=tuple(self.basis),
        )
