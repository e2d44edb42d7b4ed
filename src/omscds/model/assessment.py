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
    "CriterionResult",
    "DifferentialEntry",
    "KnowledgeBaseRef",
    "NextTest",
    "OmsResult",
    "OrderReview",
    "PathwayResult",
    "PathwayStep",
    "Recommendation",
    "SeverityResult",
    "TumourEvidence",
    "TumourResult",
]

Probability = float
#: where a tumour may be: the body regions, and the breast (adults; not searched by chest CT)
BodyRegionKey = Literal["neck", "chest", "abdomen", "pelvis", "breast"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

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
        data = {**static, **values}
        for name, factory in factories:
            if name not in values:
                data[name] = factory()
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", data)
        object.__setattr__(obj, "__pydantic_fields_set__", set(values))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


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
