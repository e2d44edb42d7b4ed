"""Standard codes as knowledge-base data (``terminology.yaml``): schema and lookups.

Each entry ties one omscds concept (a finding key, an answer, a region, a condition, a study
result, a laboratory analyte, an orderable procedure) to its codes in standard systems, with a
citation and a ``verified`` mark. ``Terminology`` is the frozen lookup the adapters use in both
directions: ``concept(kind, system, code)`` for reading, ``codes(kind, concept)`` for writing.
Systems are the short ids of ``codes.SYSTEM_URIS``; readers pass any URI spelling through
``codes.system_id`` first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from pydantic import ValidationError, field_validator

from omscds.errors import KnowledgeError
from omscds.knowledge.codes import SYSTEM_URIS, Code
from omscds.knowledge.memo import Memoised
from omscds.knowledge.schema import ASSUMPTION, Cited, Frozen, Region, Source

__all__ = [
    "KINDS",
    "CodeDef",
    "ConceptCodes",
    "Terminology",
    "markdown_tables",
    "parse_terminology",
]

Kind = Literal[
    "findings",
    "answers",
    "regions",
    "conditions",
    "results",
    "observations",
    "procedures",
    "onsets",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]


class CodeDef(Frozen):
    system: str
    code: str
    display: str = ""

    @field_validator("system")
    @classmethod
    def _known_system(cls, v: str) -> str:
        if v not in SYSTEM_URIS:
            raise ValueError(f"unknown code system {v!r} (one of {', '.join(SYSTEM_URIS)})")
        return v

    def as_code(self) -> Code:
        return Code(self.system, self.code, self.display)


class ConceptCodes(Cited):
    """The codes of one concept; the first code is the one written on output."""

    concept: str
    codes: tuple[CodeDef, ...]
    #: regions a body structure or a procedure covers
    regions: tuple[Region, ...] = ()
    #: procedures: the case modality the procedure is
    modality: str | None = None
    #: onsets: the age range (months) the onset term defines; None as the upper end: open
    age_months: tuple[float, float | None] | None = None
    #: checked against the terminology release itself (not only taken from the source)
    verified: bool = False


@dataclass(frozen=True)
class Terminology(Memoised):
    """Frozen lookups over ``terminology.yaml`` (empty when the file is absent)."""

    entries: Mapping[str, tuple[ConceptCodes, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    sources: Mapping[str, Source] = field(default_factory=lambda: MappingProxyType({}))
    _index: Mapping[tuple[str, str, str], ConceptCodes] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    #: (modality, sorted regions) -> the first procedure listed for them (a card looks one up
    #: per order on every hook call)
    _procedures: Mapping[tuple[str | None, tuple[str, ...]], ConceptCodes] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    #: values derived from the (frozen) entries by their users, e.g. the FHIR codings of an
    #: order, computed once (``memo``)
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(
        cls, entries: Mapping[str, Iterable[ConceptCodes]], sources: Iterable[Source] = ()
    ) -> Terminology:
        frozen = {k: tuple(v) for k, v in entries.items()}
        index: dict[tuple[str, str, str], ConceptCodes] = {}
        for kind, items in frozen.items():
            for item in items:
                for cd in item.codes:
                    key = (kind, cd.system, cd.code)
                    old = index.get(key)
                    if old is not None and old.concept != item.concept:
                        raise KnowledgeError(
                            f"terminology.{kind}: {cd.system} {cd.code} is listed for both "
                            f"{old.concept!r} and {item.concept!r}"
                        )
                    index.setdefault(key, item)
        procedures: dict[tuple[str | None, tuple[str, ...]], ConceptCodes] = {}
        for item in frozen.get("procedures", ()):
            procedures.setdefault((item.modality, tuple(sorted(item.regions))), item)
        return cls(
            entries=MappingProxyType(frozen),
            sources=MappingProxyType({s.id: s for s in sources}),
            _index=MappingProxyType(index),
            _procedures=MappingProxyType(procedures),
        )

    def entry(self, kind: str, system: str | None, code: str) -> ConceptCodes | None:
        """The entry a (system id, code) belongs to, for one kind of concept."""
        if system is None:
            return None
        return self._index.get((kind, system, code))

    def concept(self, kind: str, system: str | None, code: str) -> str | None:
        """The concept a code names, e.g. ``concept("answers", "LOINC", "LA32-8") == "absent"``."""
        hit = self.entry(kind, system, code)
        return hit.concept if hit else None

    def concepts(self, kind: str) -> Mapping[tuple[str | None, str], str]:
        """``(system id, code) -> concept`` for one kind: what ``concept`` answers, as one mapping
        (a None system id is never a key, as ``concept`` answers None for it).

        Readers look up every coding of every resource: one ``get`` on this mapping (built
        once per terminology) instead of two calls per coding.
        """

        def build() -> Mapping[tuple[str | None, str], str]:
            found: dict[tuple[str | None, str], str] = {
                (system, code): e.concept
                for (k, system, code), e in self._index.items()
                if k == kind
            }
            return MappingProxyType(found)

        return self.memo(f"terminology.concepts.{kind}", build)

    def codes(self, kind: str, concept: str) -> tuple[Code, ...]:
        """All codes of a concept, the preferred (written) one first."""
        for item in self.entries.get(kind, ()):
            if item.concept == concept:
                return tuple(cd.as_code() for cd in item.codes)
        return ()

    def procedure(self, modality: str, regions: Iterable[str] = ()) -> ConceptCodes | None:
        """The orderable procedure for a modality and exactly these regions, if listed."""
        return self._procedures.get((modality, tuple(sorted(regions))))

    def region_code(self, region: str) -> Code | None:
        """The body-structure code written for one region."""
        for item in self.entries.get("regions", ()):
            if item.regions == (region,) and item.concept == region:
                return item.codes[0].as_code()
        return None

    def all_codes(self) -> Iterable[tuple[str, ConceptCodes, CodeDef]]:
        for kind, items in self.entries.items():
            for item in items:
                for cd in item.codes:
                    yield kind, item, cd


def parse_terminology(raw: Any, known_sources: Mapping[str, Any], fname: str) -> Terminology:
    """Validate the decoded ``terminology.yaml``; source ids must be known here or in the file."""
    if not raw:
        return Terminology()
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{fname}: expected a mapping")
    unknown = set(raw) - {"sources", *KINDS}
    if unknown:
        raise KnowledgeError(f"{fname}: unknown section(s) {', '.join(sorted(unknown))}")
    try:
        own = [Source.model_validate(s) for s in raw.get("sources") or ()]
    except ValidationError as exc:
        raise KnowledgeError(f"{fname}: sources: {exc.errors()[0]['msg']}") from None
    cited = {*known_sources, *(s.id for s in own), ASSUMPTION}
    entries: dict[str, list[ConceptCodes]] = {}
    for kind in KINDS:
        items = raw.get(kind) or []
        if not isinstance(items, list):
            raise KnowledgeError(f"{fname}: {kind} must be a list")
        for i, item in enumerate(items):
            try:
                entry = ConceptCodes.model_validate(item)
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise KnowledgeError(f"{fname}: {kind}[{i}]: {loc}: {err['msg']}") from None
            for sid in entry.source:
                if sid not in cited:
                    raise KnowledgeError(
                        f"{fname}: {kind}[{i}] ({entry.concept}): unknown source id {sid!r}"
                    )
            if kind == "procedures" and not entry.modality:
                raise KnowledgeError(f"{fname}: procedures[{i}] ({entry.concept}): modality?")
            entries.setdefault(kind, []).append(entry)
    return Terminology.build(entries, own)


_TITLES = {
    "findings": "Findings (SNOMED CT; HPO ids and descendants come from findings.yaml)",
    "answers": "Answers (Observation.valueCodeableConcept)",
    "regions": "Body structures -> regions (bodySite, body-region extension)",
    "conditions": "Conditions (Condition.code, conclusionCode)",
    "results": "Study results (conclusionCode)",
    "observations": "Laboratory observations (Observation.code)",
    "procedures": "Procedures and orders (ServiceRequest/Procedure/DiagnosticReport.code, ImagingStudy.procedureCode)",
    "onsets": "HPO onset classes (phenopacket time elements)",
}


def markdown_tables(terms: Terminology, uris: Mapping[str, str]) -> str:
    """The code tables as Markdown (docs/fhir-mapping.md embeds this; a test keeps them equal).

    >>> print(markdown_tables(Terminology(), {"LOINC": "http://loinc.org"}).splitlines()[2])
    | id | URI |
    """
    lines = ["### Code systems", "", "| id | URI |", "|---|---|"]
    lines += [f"| {sid} | `{uri}` |" for sid, uri in uris.items()]
    for kind in KINDS:
        items = terms.entries.get(kind, ())
        if not items:
            continue
        lines += ["", f"### {_TITLES.get(kind, kind)}", ""]
        lines += ["| concept | means | codes (first = written) | source | verified |"]
        lines += ["|---|---|---|---|---|"]
        for item in items:
            means = item.modality or ""
            if item.regions:
                means = " ".join(filter(None, [means, "/".join(item.regions)]))
            if item.age_months is not None:
                low, high = item.age_months
                means = f"{low:g}–{'' if high is None else f'{high:g}'} months"
            codes = "; ".join(
                f"{cd.system} {cd.code}" + (f" {cd.display}" if cd.display else "")
                for cd in item.codes
            )
            mark = "yes" if item.verified else "no"
            lines.append(
                f"| {item.concept} | {means} | {codes} | {', '.join(item.source)} | {mark} |"
            )
    return "\n".join(lines) + "\n"
