"""Age-banded normal values for the imaging measures, read from ``imaging_norms.yaml``.

Every row is ``Cited`` (a source id from ``sources.yaml`` or ``assumption`` with reasoning);
values derived from a publication by calculation say so in their ``note``. Quality-control and
decision thresholds live in the same file so that no number is hidden in code.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from omscds.errors import InputError, KnowledgeError
from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.knowledge.loader import DATA_DIR
from omscds.knowledge.schema import ASSUMPTION, Cited, Frozen

__all__ = [
    "MEASURES",
    "MEASURE_WORDS",
    "Z_CONVENTION",
    "ImagingNorms",
    "NormRow",
    "Threshold",
    "load_norms",
    "z_score",
    "z_words",
]

Measure = Literal[
    "cerebellum_to_cortex", "cerebellum_to_thalamus", "cerebellum_to_brain", "cerebellar_volume_ml"
]
MEASURES: tuple[str, ...] = Measure.__args__  # type: ignore[attr-defined]


class NormRow(Cited):
    """Mean and SD of one measure in one age band [age_min_months, age_max_months)."""

    measure: Measure
    age_min_months: float = Field(ge=0)
    age_max_months: float | None = None
    mean: float
    sd: float = Field(gt=0)

    @model_validator(mode="after")
    def _band(self) -> NormRow:
        if self.age_max_months is not None and self.age_max_months <= self.age_min_months:
            raise ValueError("age_max_months must be above age_min_months")
        return self

    def covers(self, age_months: float) -> bool:
        return self.age_min_months <= age_months and (
            self.age_max_months is None or age_months < self.age_max_months
        )


class Threshold(Cited):
    key: str
    value: float


class ImagingNorms(Frozen):
    version: str
    disclaimer: str
    norms: tuple[NormRow, ...]
    thresholds: tuple[Threshold, ...]

    def row(self, measure: str, age_months: float) -> NormRow:
        """The norm row of ``measure`` whose age band holds ``age_months``."""
        if age_months < 0:
            raise InputError(f"age must be 0 months or more, got {age_months}", path="age_months")
        for r in self.norms:
            if r.measure == measure and r.covers(age_months):
                return r
        raise KnowledgeError(f"imaging_norms.yaml: no {measure} norm for age {age_months} months")

    def threshold(self, key: str) -> float:
        for t in self.thresholds:
            if t.key == key:
                return t.value
        raise KnowledgeError(f"imaging_norms.yaml: threshold {key!r} is missing")

    def sources(self) -> list[str]:
        ids = {s for r in (*self.norms, *self.thresholds) for s in r.source}
        return sorted(ids)


def z_score(value: float, row: NormRow) -> float:
    """z = (normal mean - value) / normal SD, so a *reduced* value gives a *positive* z.

    This is the sign convention of 3D-SSP / eZIS (positive z = hypoperfusion).

    >>> import datetime as dt
    >>> r = NormRow(measure="cerebellum_to_cortex", age_min_months=0, mean=1.0, sd=0.1,
    ...             source="assumption", reasoning="example", as_of=dt.date(2026, 1, 1))
    >>> round(z_score(0.7, r), 6)
    3.0
    """
    return (row.mean - value) / row.sd


#: the convention of every z-score omscds reports, in words (outputs state it, issue 13)
Z_CONVENTION = (
    "z = (age-band mean - value) / age-band SD: a positive z is a value below the age-band mean "
    "(reduced uptake or volume), a negative z one above it"
)

#: what each measure is, in the words a report uses
MEASURE_WORDS: dict[str, str] = {
    "cerebellum_to_cortex": "cerebellar uptake relative to cortex",
    "cerebellum_to_thalamus": "cerebellar uptake relative to thalamus",
    "cerebellum_to_brain": "cerebellar share of brain tissue volume",
    "cerebellar_volume_ml": "cerebellar volume",
}


def z_words(measure: str, z: float) -> str:
    """A z-score in words, in the sign convention of ``z_score`` (positive = below the mean).

    >>> z_words("cerebellum_to_cortex", 6.43)
    'z = 6.4: cerebellar uptake relative to cortex 6.4 SD below the age-band mean'
    >>> z_words("cerebellar_volume_ml", -0.52)
    'z = -0.5: cerebellar volume 0.5 SD above the age-band mean'
    """
    what = MEASURE_WORDS.get(measure, measure.replace("_", " "))
    shown = round(z, 1) + 0.0  # + 0.0: no "-0.0"
    if shown > 0:
        where = f"{shown:.1f} SD below the age-band mean"
    elif shown < 0:
        where = f"{-shown:.1f} SD above the age-band mean"
    else:
        where = "at the age-band mean"
    return f"z = {shown:.1f}: {what} {where}"


def _check(norms: ImagingNorms) -> None:
    for key in MEASURES:
        rows = sorted((r for r in norms.norms if r.measure == key), key=lambda r: r.age_min_months)
        if not rows or rows[0].age_min_months != 0 or rows[-1].age_max_months is not None:
            raise KnowledgeError(f"imaging_norms.yaml: {key} bands must run from 0 months on")
        for a, b in itertools.pairwise(rows):
            if a.age_max_months != b.age_min_months:
                raise KnowledgeError(
                    f"imaging_norms.yaml: {key} bands leave a gap or overlap at {a.age_max_months}"
                )


def load_norms(path: Path | str | None = None, kb: KnowledgeBase | None = None) -> ImagingNorms:
    """Read and validate the imaging norms; source ids must exist in ``kb.sources``."""
    p = Path(path) if path is not None else DATA_DIR / "imaging_norms.yaml"
    try:
        raw: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnowledgeError(f"imaging norms file missing: {p}") from None
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{p.name}: not valid YAML: {exc}") from None
    try:
        norms = ImagingNorms.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise KnowledgeError(f"{p.name}: {loc}: {err['msg']}") from None
    kb = kb if kb is not None else load_knowledge()
    for i, r in enumerate((*norms.norms, *norms.thresholds)):
        for sid in r.source:
            if sid != ASSUMPTION and sid not in kb.sources:
                raise KnowledgeError(f"{p.name}: row {i}: unknown source id {sid!r}")
    _check(norms)
    return norms


@lru_cache(maxsize=1)
def default_norms() -> ImagingNorms:
    """The shipped norms, loaded and validated once per process (the file is package data)."""
    return load_norms()
