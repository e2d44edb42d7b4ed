"""The view of an assessment: frozen values that every face of omscds renders.

Text and Markdown (``reports.summary``), HTML and PDF (``reports.html``), the one-line brief
(``reports.brief``) and the CDS card (``interop.cdshooks.cards``) all draw these, so the answer
first (``Summary``) is the same answer everywhere. Sentences are already translated (the
translator is passed to ``build_view``); numbers are the assessment's, formatted once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Action",
    "AssessmentView",
    "InputTest",
    "Inputs",
    "Meta",
    "ParentsPage",
    "RegionState",
    "Summary",
    "TumourLine",
]


@dataclass(frozen=True)
class RegionState:
    """One region of the body search: covered by CT/MRI (which study), or not yet."""

    region: str
    label: str
    covered_by: str | None
    covered_label: str = ""


@dataclass(frozen=True)
class TumourLine:
    """Where the tumour search stands. ``probability`` is None when no probability is shown
    (no tumour question, or a tumour confirmed by histology)."""

    status: str
    status_label: str
    #: e.g. "search incomplete; P(tumour) 25% (0.5%–86%)"; never a probability when not applicable
    text: str
    probability: float | None
    interval: tuple[float, float] | None
    regions: tuple[RegionState, ...]
    #: labels of the search's regions not yet covered by CT/MRI (since a relapse, if re-opened)
    uncovered: tuple[str, ...]
    covered: tuple[str, ...]
    #: "Not yet imaged by CT/MRI: neck, chest. Imaged: abdomen (MRI)." (empty: no search)
    search_text: str


@dataclass(frozen=True)
class Action:
    """A pathway step as the summary shows it: what, how urgent, why (with sources)."""

    rule: str
    #: the recommendation's kind (imaging, laboratory, referral, ...)
    kind: str
    title: str
    status: str
    urgency: str
    urgency_label: str
    #: "Now (urgent)" or "If brain MRI does not explain the ataxia"
    when: str
    regions: tuple[str, ...]
    #: the lead of the recommendation's rationale (knowledge-base text)
    why: str
    #: "finds a tumour now with probability 20%; 6% left if negative" (empty when not a study)
    yield_text: str
    sources: tuple[str, ...]
    #: one line: "Now (soon): Cross-sectional imaging ... (neck, chest, abdomen, pelvis)"
    line: str


@dataclass(frozen=True)
class Summary:
    """The answer first: phase, OMS, tumour search, the single next action and the reminder."""

    phase: str | None
    phase_label: str
    branch_label: str
    oms_status: str
    #: "OMS criteria met (3 of 4)"
    oms_text: str
    #: "OMS criteria met", "possible OMS", "OMS criteria not met"
    oms_short: str
    tumour: TumourLine
    next_action: Action | None
    #: the branch's standing urgent step (immunotherapy without delay), when it is not the next
    reminder: Action | None
    alert_count: int
    #: one line for a CDS card summary or a list: OMS, tumour status and the regions still open
    headline: str


@dataclass(frozen=True)
class InputTest:
    date: str
    label: str
    regions: str
    result: str
    detail: str


@dataclass(frozen=True)
class Inputs:
    """What the assessment was made from (the case as entered)."""

    age: str
    sex: str
    visit_date: str
    present: tuple[str, ...]
    absent: tuple[str, ...]
    unknown: tuple[str, ...]
    history: tuple[str, ...]
    tests: tuple[InputTest, ...]


@dataclass(frozen=True)
class Meta:
    omscds_version: str
    kb_version: str
    kb_sha256: str
    #: when the report was made (given by the caller; the view never reads the clock)
    generated: str


@dataclass(frozen=True)
class ParentsPage:
    """A plain-language page for parents: no numbers, says it does not diagnose."""

    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class AssessmentView:
    case_id: str | None
    summary: Summary
    inputs: Inputs | None
    meta: Meta
    disclaimer: str
    #: "Decision support, not a diagnosis."
    notice: str
    parents: ParentsPage
