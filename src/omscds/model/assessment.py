"""The assessment omscds returns (docs/case-format.md). Fields are only ever added."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Alert",
    "Assessment",
    "AssumptionNote",
    "Classification",
    "CriterionResult",
    "DifferentialEntry",
    "KnowledgeBaseRef",
    "NextTest",
    "OmsResult",
    "OrderReview",
    "PathwayResult",
    "PathwayStep",
    "PnsCareResult",
    "Recommendation",
    "SeverityResult",
    "StagingNote",
    "StagingResult",
    "TumourEvidence",
    "TumourResult",
    "WorkupItem",
]

Probability = float
#: where a tumour may be: the body regions, and the breast (adults; not searched by chest CT)
BodyRegionKey = Literal["neck", "chest", "abdomen", "pelvis", "breast"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @classmethod
    def build(cls, **values: Any) -> Self:
        """Construct from trusted values without validation, like ``model_construct``.

        The engine builds about 40 output objects per assessment from values it computed
        itself; ``model_construct`` spends most of its time re-deriving defaults and the
        fields-set for every call (measured: 22% of an assessment). This keeps the defaults per
        class and sets the same instance state (``tests/model/test_assessment.py`` proves the
        two give equal objects and equal JSON for every output class).
        """
        plan = _PLANS.get(cls)
        if plan is None:
            plan = _PLANS[cls] = _plan(cls)
        static, factories = plan
        fields_set = set(values)
        data = {**static, **values} if static else values  # ``values`` is this call's own dict
        for name, factory in factories:
            if name not in fields_set:
                data[name] = factory()
        obj = cls.__new__(cls)
        _set(obj, "__dict__", data)
        _set(obj, "__pydantic_fields_set__", fields_set)
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj


_set = object.__setattr__


_PLANS: dict[type[BaseModel], tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]] = {}


def _plan(
    cls: type[BaseModel],
) -> tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]:
    static: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            factories.append((name, info.default_factory))  # type: ignore[arg-type]
        elif not info.is_required():
            static[name] = info.default
    return static, factories


class KnowledgeBaseRef(_Out):
    version: str
    sha256: str
    hpo_release: str | None = None


class CriterionResult(_Out):
    id: str
    label: str = ""
    met: bool | None
    evidence: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


class OmsResult(_Out):
    status: Literal["criteria_met", "possible", "not_met"]
    criteria_count: int
    criteria: tuple[CriterionResult, ...]
    unknown_count: int = 0
    explanation: str = ""
    sources: tuple[str, ...] = ()


class DifferentialEntry(_Out):
    condition: str
    rank: int
    label: str = ""
    score: float = 0.0
    support: tuple[str, ...] = ()
    against: tuple[str, ...] = ()
    atypical: tuple[str, ...] = ()
    separate_by: str = ""
    sources: tuple[str, ...] = ()


class TumourEvidence(_Out):
    test: int
    modality: str
    result: str
    regions: tuple[str, ...] = ()
    likelihood_ratio: float
    likelihood_ratio_interval: tuple[float, float] | None = None
    probability_after: Probability
    interval_after: tuple[Probability, Probability] | None = None
    sensitivity: float | None = None
    sensitivity_interval: tuple[float, float] | None = None
    note: str = ""
    sources: tuple[str, ...] = ()


class NextTest(_Out):
    modality: str
    regions: tuple[str, ...]
    yield_probability: Probability
    probability_if_negative: Probability
    burden: str
    burden_rank: int
    why: str = ""
    sources: tuple[str, ...] = ()


class TumourResult(_Out):
    status: Literal["confirmed", "suspected", "search_incomplete", "not_found", "not_applicable"]
    probability: Probability = Field(ge=0, le=1)
    interval: tuple[Probability, Probability]
    prior: Probability = Field(ge=0, le=1)
    prior_interval: tuple[Probability, Probability] | None = None
    prior_id: str | None = None
    searched_regions: dict[BodyRegionKey, str | None]
    evidence: tuple[TumourEvidence, ...] = ()
    region_probabilities: dict[BodyRegionKey, Probability] = Field(default_factory=dict)
    next_tests: tuple[NextTest, ...] = ()
    population: Literal["child", "adult"] = "child"
    explanation: str = ""
    sources: tuple[str, ...] = ()


class Recommendation(_Out):
    id: str
    kind: Literal["imaging", "laboratory", "referral", "follow_up", "treatment", "assessment"]
    modality: str | None = None
    regions: tuple[str, ...] = ()
    urgency: Literal["urgent", "soon", "routine"]
    interval_months: float | None = None
    interval_months_range: tuple[float, float] | None = None
    title: str = ""
    rationale: str
    sources: tuple[str, ...]
    assumption: bool = False


class Alert(_Out):
    id: str
    level: Literal["info", "warning", "critical"]
    message: str
    sources: tuple[str, ...]


class SeverityResult(_Out):
    scale: str
    label: str
    total: int | None
    max: int
    items: dict[str, int]
    missing_items: tuple[str, ...] = ()
    descriptors_confirmed: bool = False
    note: str = ""
    sources: tuple[str, ...] = ()


class PathwayStep(_Out):
    """A step of the current phase: an order now, or conditional on what ``condition`` says."""

    rule: str
    status: Literal["now", "conditional"]
    #: the condition of a conditional step ("if brain MRI does not explain the ataxia ...")
    condition: str | None = None
    title: str = ""
    kind: str = ""
    modality: str | None = None
    regions: tuple[str, ...] = ()
    urgency: Literal["urgent", "soon", "routine"] = "routine"
    sources: tuple[str, ...] = ()


class PathwayResult(_Out):
    """Where the patient stands on the clinical pathway, why, and what moves it on."""

    branch: Literal["child", "adult"]
    branch_label: str
    team: str
    phase: Literal["recognise", "search", "localise", "found", "follow"]
    phase_label: str
    why: str
    moves_on: str
    #: a relapse or OMS after a resection re-opened the search (tests after ``since`` count)
    reopened: bool = False
    since: dt.date | None = None
    search_regions: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()
    steps: tuple[PathwayStep, ...] = ()
    sources: tuple[str, ...] = ()
    #: how loudly an EHR should show where the patient stands ("none": no question is open)
    level: Literal["none", "info", "warning", "critical"] = "info"


class OrderReview(_Out):
    """An order that cannot complete the tumour search, answered with the pathway's own step.

    Produced by ``reasoning.review_orders`` for the CDS order hooks; ``proposal`` is the
    search-completing step the pathway orders now.
    """

    ordered: tuple[str, ...]
    #: what was ordered and what is proposed, as the message names them ("MIBG", "MRI")
    ordered_label: str
    proposal_label: str
    message: str
    proposal: PathwayStep
    uncovered: tuple[str, ...]
    #: P(tumour) if the ordered test came back negative, per ordered modality
    if_negative: dict[str, float] = Field(default_factory=dict)
    sources: tuple[str, ...] = ()


class Classification(_Out):
    """A classifier's answer (INRGSS stage, INRG group or risk, COG 2021 risk).

    ``result`` is given only when one result is possible; otherwise ``possible`` lists every
    result still open and ``missing`` the unknown inputs that decide between them.
    """

    system: Literal["inrgss", "inrg_group", "inrg_risk", "cog_2021"]
    label: str
    result: str | None = None
    possible: tuple[str, ...] = ()
    #: the table row that decided (when ``result`` is given)
    rule: str | None = None
    rule_label: str = ""
    #: deciding inputs not known (variable ids) and what they are, in words
    missing: tuple[str, ...] = ()
    missing_labels: tuple[str, ...] = ()
    explanation: str = ""
    #: the answer rests on a row or value marked as an assumption (UNCONFIRMED in the notes)
    assumption: bool = False
    assumption_note: str = ""
    sources: tuple[str, ...] = ()


class WorkupItem(_Out):
    """One item of the neuroblastoma staging work-up and whether it is still missing."""

    id: str
    label: str
    short: str = ""
    status: Literal["missing", "done", "conditional", "not_needed"]
    note: str = ""
    #: the pathway rule that orders it when missing
    rule: str | None = None
    sources: tuple[str, ...] = ()


class StagingNote(_Out):
    id: str
    text: str
    assumption: bool = False
    sources: tuple[str, ...] = ()


class StagingResult(_Out):
    """Neuroblastoma staging and risk once a tumour is found (INRGSS, INRG, COG 2021)."""

    stage: Classification
    inrg_group: Classification
    inrg_risk: Classification
    cog_risk: Classification
    idrfs_present: tuple[str, ...] = ()
    idrf_count: int = 0
    metastases_present: tuple[str, ...] = ()
    workup: tuple[WorkupItem, ...] = ()
    #: every deciding input still unknown, in words (union over the classifiers)
    missing: tuple[str, ...] = ()
    outcomes: tuple[StagingNote, ...] = ()
    practice: tuple[StagingNote, ...] = ()
    oms_notes: tuple[StagingNote, ...] = ()
    notes: tuple[str, ...] = ()
    #: one line for a CDS card or a summary: stage, groups, what is missing
    summary: str = ""
    title: str = ""
    sources: tuple[str, ...] = ()


class PnsCareResult(_Out):
    """The 2021 PNS-Care score: phenotype + antibody + cancer points and the diagnostic level.

    ``level`` is given only when every still-unknown input leaves it unchanged.
    """

    phenotype: str
    phenotype_points: int | None = None
    antibody: str
    antibody_points: int | None = None
    cancer: str
    cancer_points: int | None = None
    total: int | None = None
    total_range: tuple[int, int]
    level: Literal["definite", "probable", "possible", "non_pns"] | None = None
    levels_possible: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    #: which parts of this score rest on values marked as assumptions (UNCONFIRMED)
    assumption_parts: tuple[str, ...] = ()
    notes: tuple[StagingNote, ...] = ()
    explanation: str = ""
    title: str = ""
    sources: tuple[str, ...] = ()


class AssumptionNote(_Out):
    where: str
    reasoning: str


class Assessment(_Out):
    omscds_version: str
    knowledge_base: KnowledgeBaseRef
    case_id: str | None
    oms: OmsResult
    differential: tuple[DifferentialEntry, ...] = ()
    differential_method: str = ""
    tumour: TumourResult
    recommendations: tuple[Recommendation, ...] = ()
    #: why the first recommendation comes first (urgency, then yield and burden)
    plan_rationale: str = ""
    alerts: tuple[Alert, ...] = ()
    severity: SeverityResult | None = None
    assumptions: tuple[AssumptionNote, ...] = ()
    warnings: tuple[str, ...] = ()
    disclaimer: str
    #: the clinical pathway: phase, why, what moves it on, and the steps with their conditions
    pathway: PathwayResult | None = None
    #: neuroblastoma staging and risk once a tumour is found (None: not applicable)
    staging: StagingResult | None = None
    #: the 2021 PNS-Care score (None: no paraneoplastic question)
    pns_care: PnsCareResult | None = None
