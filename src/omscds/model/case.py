"""The case a user gives (docs/case-format.md): parsed strictly, never silently ignored."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import typing
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from omscds.errors import InputError, format_path

__all__ = [
    "BODY_REGIONS",
    "HISTOLOGIES",
    "METASTATIC_SITES",
    "MODALITIES",
    "REGIONS",
    "RESULTS",
    "Biology",
    "Case",
    "FindingState",
    "Histology",
    "History",
    "Modality",
    "Paraneoplastic",
    "Pathology",
    "Primary",
    "PriorCancer",
    "Region",
    "Resection",
    "Severity",
    "TestResult",
    "TumourDetails",
    "check_not_future",
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
    "breast_mri",
    "serum_afp",
]
Region = Literal["brain", "spine", "neck", "chest", "abdomen", "pelvis", "whole_body"]
Result = Literal["positive", "negative", "equivocal", "pending"]
Histology = Literal["neuroblastoma", "ganglioneuroblastoma", "ganglioneuroma", "other"]

MODALITIES: tuple[str, ...] = Modality.__args__  # type: ignore[attr-defined]
REGIONS: tuple[str, ...] = Region.__args__  # type: ignore[attr-defined]
RESULTS: tuple[str, ...] = Result.__args__  # type: ignore[attr-defined]
HISTOLOGIES: tuple[str, ...] = Histology.__args__  # type: ignore[attr-defined]
BODY_REGIONS: tuple[str, ...] = ("neck", "chest", "abdomen", "pelvis")

#: control characters (except tab/newline) and bidirectional overrides: they change what a
#: terminal or page shows without changing what is stored (Trojan-source style)
_HIDDEN = frozenset(
    [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
    + [chr(0x7F)]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in (0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
)


def _visible(value: str) -> str:
    for ch in value:
        if ch in _HIDDEN:
            raise ValueError(f"contains the invisible control character U+{ord(ch):04X}; remove it")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_hidden_text(cls, v: Any) -> Any:
        if isinstance(v, str):
            return _visible(v)
        if isinstance(v, tuple | list):
            for item in v:
                if isinstance(item, str):
                    _visible(item)
        if isinstance(v, dict):
            for k in v:
                if isinstance(k, str):
                    _visible(k)
        return v


# Numbers are declared ``strict``: ``true`` or ``"19"`` is never read as an age or a score
# (pydantic's lax mode would turn ``true`` into 1).
Course = Literal["acute", "episodic", "progressive"]
CancerType = Literal[
    "small_cell_lung",
    "non_small_cell_lung",
    "breast",
    "ovarian",
    "ovarian_teratoma",
    "testicular",
    "neuroblastic",
    "thymoma",
    "other",
]


class PriorCancer(_Strict):
    type: CancerType
    date: dt.date | None = None
    in_remission: bool | None = None


class Resection(_Strict):
    date: dt.date | None = None
    completeness: Literal["complete", "incomplete", "unknown"] = "unknown"


class History(_Strict):
    symptom_duration_weeks: float | None = Field(default=None, ge=0, le=5200, strict=True)
    preceding_infection: bool | None = None
    recent_vaccination: bool | None = None
    possible_toxic_ingestion: bool | None = None
    #: OMS relapse after a remission (re-opens the tumour question)
    relapse: bool | None = None
    #: a neuroblastic tumour was resected earlier (recurrence can bring OMS back)
    prior_tumour_resected: bool | None = None
    #: date of the relapse: tests after it count for the renewed search
    relapse_date: dt.date | None = None
    #: the course so far: acute, episodic (attacks with normal intervals) or progressive
    course: Course | None = None
    #: a cancer earlier in life (adults: OMS can be the sole sign of its relapse)
    prior_cancer: PriorCancer | None = None
    #: the last tumour resection (OMS persisting after it re-opens the search)
    resection: Resection | None = None


class TestResult(_Strict):
    __test__: ClassVar[bool] = False  # not a pytest test class

    modality: Modality
    regions: tuple[Region, ...] = ()
    result: Result
    findings: tuple[str, ...] = ()
    location: str | None = None
    histology: Histology | None = None
    date: dt.date | None = None
    quantitative: dict[str, float] = Field(default_factory=dict, strict=True)
    note: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _regions(self) -> TestResult:
        # which modalities need regions, and the default ones, are the knowledge base's
        # (modalities.yaml); ``reasoning.resolve`` applies them
        if len(set(self.regions)) != len(self.regions):
            raise ValueError("regions: a region is listed twice")
        return self


# --- the tumour once found: staging and risk inputs (issue 14) -----------------------------------
InpcCategory = Literal["gn_maturing", "gnb_intermixed", "gnb_nodular", "neuroblastoma"]
Differentiation = Literal["undifferentiated", "poorly_differentiated", "differentiating"]
MetastaticSite = Literal[
    "bone_marrow", "liver", "skin", "bone", "distant_nodes", "lung", "cns", "other"
]
METASTATIC_SITES: tuple[str, ...] = MetastaticSite.__args__  # type: ignore[attr-defined]
PrimarySite = Literal[
    "adrenal",
    "retroperitoneal",
    "paraspinal",
    "posterior_mediastinum",
    "cervical",
    "presacral",
    "pelvic",
    "other",
]


class Primary(_Strict):
    """The primary tumour: body region, site and largest diameter."""

    region: Literal["neck", "chest", "abdomen", "pelvis"] | None = None
    site: PrimarySite | None = None
    size_mm: float | None = Field(default=None, gt=0, le=500, strict=True)
    location: str | None = None


class Pathology(_Strict):
    """INPC histology (International Neuroblastoma Pathology Classification)."""

    category: InpcCategory | None = None
    #: grade of differentiation (neuroblastoma, or the nodule of a nodular ganglioneuroblastoma)
    differentiation: Differentiation | None = None
    #: mitosis-karyorrhexis index
    mki: Literal["low", "intermediate", "high"] | None = None
    #: the INPC prognostic group: favourable (FH) or unfavourable (UH) histology
    inpc: Literal["favourable", "unfavourable"] | None = None


class Biology(_Strict):
    """Tumour genetics: MYCN, segmental chromosome aberrations (SCA: 1p, 11q), ploidy."""

    mycn: Literal["amplified", "not_amplified"] | None = None
    aberration_11q: bool | None = None
    aberration_1p: bool | None = None
    #: any segmental chromosome aberration (1p or 11q loss among them)
    sca: bool | None = None
    #: hyperdiploid (DNA index > 1) or diploid (DNA index 1)
    ploidy: Literal["hyperdiploid", "diploid"] | None = None
    dna_index: float | None = Field(default=None, gt=0, le=10, strict=True)


class TumourDetails(_Strict):
    """What staging and risk grouping need once a tumour is found. Everything is optional: an
    input not given is unknown, and the classifiers say what it would decide."""

    primary: Primary = Field(default_factory=Primary)
    #: image-defined risk factors (ids of staging.yaml) reported present or absent
    idrfs: dict[str, Literal["present", "absent"]] = Field(default_factory=dict)
    #: the radiologist reviewed every IDRF: those not listed as present are absent
    idrf_review_complete: bool | None = None
    #: distant metastatic sites: present, absent or unknown (not listed: unknown)
    metastases: dict[MetastaticSite, FindingState] = Field(default_factory=dict)
    pathology: Pathology = Field(default_factory=Pathology)
    biology: Biology = Field(default_factory=Biology)
    spinal_cord_compression: bool | None = None
    #: symptoms from the tumour itself (for MS: e.g. evolving hepatomegaly, respiratory compromise)
    symptomatic: bool | None = None
    #: the primary takes up MIBG (False: FDG-PET for the metastatic work-up)
    mibg_avid: bool | None = None


class Paraneoplastic(_Strict):
    """Inputs of the 2021 PNS-Care score that the rest of the case does not carry."""

    phenotype: Literal["high_risk", "intermediate_risk", "not_related"] | None = None
    antibody_risk: Literal["high", "intermediate", "negative"] | None = None
    #: a cancer found: consistent with phenotype and antibody, not consistent, or none found
    cancer: Literal["consistent", "not_consistent", "none"] | None = None
    #: the onconeural antigen is shown in the tumour (a non-consistent cancer then scores 4)
    antigen_expression: bool | None = None
    #: follow-up since the neurological syndrome began, in months (the 2-year window)
    follow_up_months: float | None = Field(default=None, ge=0, le=1200, strict=True)


class Severity(_Strict):
    scale: str
    items: dict[str, int] = Field(default_factory=dict, strict=True)
    total: int | None = Field(default=None, strict=True)
    date: dt.date | None = None


class Case(_Strict):
    case_id: str | None = None
    age_months: float = Field(ge=0, le=1800, strict=True)
    sex: Sex = "unknown"
    findings: dict[str, FindingState] = Field(default_factory=dict)
    history: History = Field(default_factory=History)
    tests: tuple[TestResult, ...] = ()
    severity: Severity | None = None
    #: the date the case describes (a visit); used for surveillance intervals
    visit_date: dt.date | None = None
    #: the tumour once found: primary, IDRFs, metastases, histology, biology (issue 14)
    tumour: TumourDetails | None = None
    #: PNS-Care inputs not carried elsewhere (phenotype, antibody class, cancer, follow-up)
    paraneoplastic: Paraneoplastic | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _tumour_consistent(self) -> Case:
        t = self.tumour
        if t is None:
            return self
        b, p = t.biology, t.pathology
        if b.sca is False and (b.aberration_11q or b.aberration_1p):
            which = "aberration_11q" if b.aberration_11q else "aberration_1p"
            raise ValueError(
                f"@tumour.biology.sca: false contradicts {which}: true (11q and 1p aberrations "
                "are segmental chromosome aberrations)"
            )
        if (
            b.dna_index is not None
            and b.ploidy is not None
            and (b.ploidy == "hyperdiploid") != (b.dna_index > 1)
        ):
            raise ValueError(
                f"@tumour.biology.ploidy: {b.ploidy!r} contradicts dna_index {b.dna_index:g}"
            )
        if p.differentiation is not None and p.category in ("gn_maturing", "gnb_intermixed"):
            raise ValueError(
                "@tumour.pathology.differentiation: a grade of differentiation applies to "
                f"neuroblastoma and nodular ganglioneuroblastoma, not {p.category!r}"
            )
        return self

    @model_validator(mode="after")
    def _dates_not_after_visit(self) -> Case:
        if self.visit_date is None:
            return self
        for i, t in enumerate(self.tests):
            if t.date is not None and t.date > self.visit_date:
                raise ValueError(
                    f"@tests.{i}.date: {t.date} is after the visit date {self.visit_date}"
                )
        return self


def did_you_mean(word: object, options: Iterable[str]) -> str:
    """A "did you mean" hint for a misspelt name (empty when nothing is close).

    >>> did_you_mean("findngs", ["findings", "tests"])
    "; did you mean 'findings'?"
    >>> did_you_mean("zzz", ["findings"])
    ''
    """
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name (and alias) of ``model`` and of the models nested in it."""
    seen = set() if seen is None else seen
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    stack: list[Any] = []
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        stack.append(info.annotation)
    while stack:
        ann = stack.pop()
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names |= _field_names(ann, seen)
        else:
            stack.extend(typing.get_args(ann))
    return names


def _message(err: Any) -> str:
    etype = err.get("type", "")
    ctx = err.get("ctx") or {}
    inp = err.get("input")
    if etype == "literal_error":
        expected = str(ctx.get("expected", ""))
        hint = did_you_mean(inp, re.findall(r"'([^']*)'", expected))
        return f"{inp!r} is not one of {expected}{hint}"
    if etype == "extra_forbidden":
        loc = err.get("loc") or ()
        name = loc[-1] if loc else None
        hint = did_you_mean(name, _known_fields())
        return f"unknown field (put extra data under 'extensions'){hint}"
    if etype == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


@functools.cache
def _known_fields() -> frozenset[str]:
    return frozenset(_field_names(Case))


def _dates(case: Case) -> list[tuple[str, dt.date]]:
    out: list[tuple[str, dt.date]] = []
    if case.visit_date is not None:
        out.append(("visit_date", case.visit_date))
    for i, t in enumerate(case.tests):
        if t.date is not None:
            out.append((f"tests[{i}].date", t.date))
    h = case.history
    if h.relapse_date is not None:
        out.append(("history.relapse_date", h.relapse_date))
    if h.resection is not None and h.resection.date is not None:
        out.append(("history.resection.date", h.resection.date))
    if h.prior_cancer is not None and h.prior_cancer.date is not None:
        out.append(("history.prior_cancer.date", h.prior_cancer.date))
    if case.severity is not None and case.severity.date is not None:
        out.append(("severity.date", case.severity.date))
    return out


def parse_case(data: Any, *, today: dt.date | None = None) -> Case:
    """Validate a decoded JSON/YAML document as a Case, raising InputError naming the field.

    >>> parse_case({"age_months": 19}).age_months
    19.0
    >>> try:
    ...     parse_case({"age_months": 19, "tests": [{"modality": "mibg", "result": "postive"}]})
    ... except InputError as e:
    ...     print(e)
    tests[0].result: 'postive' is not one of 'positive', 'negative', 'equivocal' or 'pending'; did you mean 'positive'?
    """
    if not isinstance(data, dict):
        raise InputError(f"a case must be a JSON/YAML object, not {type(data).__name__}")
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        errors: list[tuple[str, str]] = []
        for err in exc.errors():
            loc = [
                p
                for p in err["loc"]
                if not (isinstance(p, str) and (p.startswith("function-") or p == "[key]"))
            ]
            msg = _message(err)
            # "regions: ..." raised inside the test validator belongs to the regions field
            if msg.startswith("regions: "):
                loc = [*loc, "regions"]
                msg = msg.removeprefix("regions: ")
            if msg.startswith("@"):  # a model validator naming a nested field
                where, msg = msg[1:].split(": ", 1)
                loc = [int(p) if p.isdigit() else p for p in where.split(".")]
            errors.append((format_path(loc), msg))
        path, msg = errors[0]
        raise InputError(msg, path=path, errors=errors) from None
    if today is not None:
        check_not_future(case, today)
    return case


def check_not_future(case: Case, today: dt.date) -> None:
    """Refuse any date of the case after ``today`` (InputError naming every such field).

    Every face passes its clock: a case read from FHIR or a phenopacket is checked the same
    way as a case document.
    """
    future = [(p, d) for p, d in _dates(case) if d > today]
    if future:
        errors = [(p, f"{d} is in the future (today is {today})") for p, d in future]
        raise InputError(errors[0][1], path=errors[0][0], errors=errors)
