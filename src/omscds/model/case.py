"""The case a user gives (shared/spec/case-format.md): parsed strictly, never silently ignored."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from omscds.errors import InputError, format_path

__all__ = [
    "BODY_REGIONS",
    "HISTOLOGIES",
    "MODALITIES",
    "REGIONS",
    "RESULTS",
    "Case",
    "FindingState",
    "Histology",
    "History",
    "Modality",
    "Region",
    "Severity",
    "TestResult",
    "parse_case",
]

FindingState = Literal["present", "absent", "unknown"]
Sex = Literal["female", "male", "other", "unknown"]
Modality = Literal[
    "ct",
    "mri",
    "whole_body_mri",
    "ultrasound",
    "chest_xray",
    "mibg",
    "urine_catecholamines",
    "fdg_pet",
    "dotatate_pet",
    "dopa_pet",
    "perfusion_spect",
    "csf",
    "onconeural_antibodies",
    "toxicology",
    "eeg",
    "bone_marrow",
    "biopsy",
    "mammography",
]
Region = Literal["brain", "spine", "neck", "chest", "abdomen", "pelvis", "whole_body"]
Result = Literal["positive", "negative", "equivocal", "pending"]
Histology = Literal["neuroblastoma", "ganglioneuroblastoma", "ganglioneuroma", "other"]

MODALITIES: tuple[str, ...] = Modality.__args__  # type: ignore[attr-defined]
REGIONS: tuple[str, ...] = Region.__args__  # type: ignore[attr-defined]
RESULTS: tuple[str, ...] = Result.__args__  # type: ignore[attr-defined]
HISTOLOGIES: tuple[str, ...] = Histology.__args__  # type: ignore[attr-defined]
BODY_REGIONS: tuple[str, ...] = ("neck", "chest", "abdomen", "pelvis")

#: modalities whose regions must be given; whole-body ones default to whole_body
REGIONS_REQUIRED = frozenset({"ct", "mri", "ultrasound"})
WHOLE_BODY_DEFAULT = frozenset(
    {"whole_body_mri", "mibg", "urine_catecholamines", "fdg_pet", "dotatate_pet", "dopa_pet"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class History(_Strict):
    symptom_duration_weeks: float | None = Field(default=None, ge=0)
    preceding_infection: bool | None = None
    recent_vaccination: bool | None = None
    possible_toxic_ingestion: bool | None = None
    #: OMS relapse after a remission (re-opens the tumour question)
    relapse: bool | None = None
    #: a neuroblastic tumour was resected earlier (recurrence can bring OMS back)
    prior_tumour_resected: bool | None = None


class TestResult(_Strict):
    __test__: ClassVar[bool] = False  # not a pytest test class

    modality: Modality
    regions: tuple[Region, ...] = ()
    result: Result
    findings: tuple[str, ...] = ()
    location: str | None = None
    histology: Histology | None = None
    date: dt.date | None = None
    quantitative: dict[str, float] = Field(default_factory=dict)
    note: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _regions(self) -> TestResult:
        if not self.regions:
            if self.modality in REGIONS_REQUIRED:
                raise ValueError(
                    f"regions: required for {self.modality} (any of {', '.join(REGIONS)})"
                )
            if self.modality in WHOLE_BODY_DEFAULT:
                object.__setattr__(self, "regions", ("whole_body",))
            elif self.modality == "perfusion_spect":
                object.__setattr__(self, "regions", ("brain",))
        if len(set(self.regions)) != len(self.regions):
            raise ValueError("regions: a region is listed twice")
        return self


class Severity(_Strict):
    scale: str
    items: dict[str, int] = Field(default_factory=dict)
    total: int | None = None
    date: dt.date | None = None


class Case(_Strict):
    case_id: str | None = None
    age_months: float = Field(ge=0, le=1800)
    sex: Sex = "unknown"
    findings: dict[str, FindingState] = Field(default_factory=dict)
    history: History = Field(default_factory=History)
    tests: tuple[TestResult, ...] = ()
    severity: Severity | None = None
    #: the date the case describes (a visit); used for surveillance intervals
    visit_date: dt.date | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)


def _message(err: Any) -> str:
    etype = err.get("type", "")
    ctx = err.get("ctx") or {}
    inp = err.get("input")
    if etype == "literal_error":
        return f"{inp!r} is not one of {ctx.get('expected', '')}"
    if etype == "extra_forbidden":
        return "unknown field (put extra data under 'extensions')"
    if etype == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def parse_case(data: Any) -> Case:
    """Validate a decoded JSON/YAML document as a Case, raising InputError naming the field.

    >>> parse_case({"age_months": 19}).age_months
    19.0
    >>> try:
    ...     parse_case({"age_months": 19, "tests": [{"modality": "mibg", "result": "postive"}]})
    ... except InputError as e:
    ...     print(e)
    tests[0].result: 'postive' is not one of 'positive', 'negative', 'equivocal' or 'pending'
    """
    if not isinstance(data, dict):
        raise InputError(f"a case must be a JSON/YAML object, not {type(data).__name__}")
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        errors: list[tuple[str, str]] = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            msg = _message(err)
            # "regions: ..." raised inside the test validator belongs to the regions field
            if msg.startswith("regions: "):
                loc = [*loc, "regions"]
                msg = msg.removeprefix("regions: ")
            errors.append((format_path(loc), msg))
        path, msg = errors[0]
        raise InputError(msg, path=path, errors=errors) from None
