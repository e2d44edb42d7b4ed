"""Named boolean facts about a case: the vocabulary that knowledge-base rules are written in.

Rules in ``differential.yaml``, ``recommendations.yaml``, ``alerts.yaml`` and ``pathway.yaml``
fire on these names. The names and their labels live in ``facts.yaml`` (loading the knowledge
base checks every rule against it); this module computes which of them hold for a case.
Composite facts are combinations of others, defined in data and evaluated last.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase
from omscds.model import DifferentialEntry, OmsResult, SeverityResult, TestResult
from omscds.reasoning.coverage import SearchView, body_regions, is_tumour_positive
from omscds.reasoning.criteria import NEUROBLASTIC
from omscds.reasoning.findings import ResolvedCase

__all__ = [
    "Facts",
    "add_composites",
    "base_facts",
    "derive_facts",
    "fact_label",
    "is_known_fact",
    "rule_fires",
]


def is_known_fact(name: str, kb: KnowledgeBase) -> bool:
    """A name rules may use: a finding state or a fact of ``facts.yaml``."""
    if name.startswith(("finding:", "absent:", "unknown:")):
        return name.split(":", 1)[1] in kb.findings
    return name in kb.facts


def fact_label(name: str, kb: KnowledgeBase) -> str:
    if name.startswith("finding:"):
        return kb.findings[name[8:]].label.lower()
    if name.startswith("absent:"):
        return "no " + kb.findings[name[7:]].label.lower()
    f = kb.facts.get(name)
    return f.label if f is not None else name


@dataclass(frozen=True)
class Facts:
    true: frozenset[str]
    #: facts that are not true now but could become so with more information
    open: frozenset[str]

    def __contains__(self, name: object) -> bool:
        return name in self.true


def rule_fires(
    facts: Facts, when_all: Iterable[str], when_any: Collection[str], when_none: Iterable[str]
) -> bool:
    """All of ``when_all``, one of ``when_any`` (if any given) and none of ``when_none`` hold."""
    true = facts.true
    return (
        true.issuperset(when_all)
        and (not when_any or not true.isdisjoint(when_any))
        and true.isdisjoint(when_none)
    )


def base_facts(rc: ResolvedCase, kb: KnowledgeBase) -> Facts:
    """Facts read from the case alone (used by the differential)."""
    case = rc.case
    h = case.history
    true: set[str] = set()
    open_: set[str] = set()
    adult = case.age_months >= kb.param("adult_age_months")
    true.add("adult" if adult else "child")
    if case.age_months < kb.param("infant_prior_age_months"):
        true.add("infant_under_6m")
    if case.sex == "male":
        true.add("male")
    if case.sex == "female":
        true.add("female")
        if adult and case.age_months < kb.param("young_woman_age_months"):
            true.add("young_woman")
    states = rc.states
    for key, (present, absent, unknown) in _finding_names(kb):
        state = states.get(key)
        if state == "present":
            true.add(present)
        elif state == "absent":
            true.add(absent)
        else:
            true.add(unknown)
            open_.add(present)
            open_.add(absent)
    for name in (
        "preceding_infection",
        "recent_vaccination",
        "possible_toxic_ingestion",
        "relapse",
        "prior_tumour_resected",
    ):
        value = getattr(h, name)
        if value:
            true.add(name)
        elif value is None:
            open_.add(name)
    if h.preceding_infection is False:
        true.add("no_preceding_infection")
    if h.course is not None:
        true.add(f"course_{h.course}")
    else:
        open_.update({"course_acute", "course_episodic", "course_progressive"})
    if h.resection is not None:
        true.add("prior_tumour_resected")
        if h.resection.completeness == "incomplete":
            true.add("resection_incomplete")
    if h.prior_cancer is not None:
        true.add("prior_cancer")
        if h.prior_cancer.type == "small_cell_lung":
            true.add("prior_cancer_sclc")
        if h.prior_cancer.type == "breast":
            true.add("prior_cancer_breast")
    weeks = h.symptom_duration_weeks
    if weeks is None:
        open_.update({"duration_beyond_aca_course", "duration_within_aca_course"})
    elif weeks > kb.param("aca_typical_course_weeks"):
        true.add("duration_beyond_aca_course")
    else:
        true.add("duration_within_aca_course")
    true.update(tf for tf in rc.test_findings if tf in kb.facts)
    if rc.test_findings & {"oligoclonal_bands", "csf_b_cell_expansion"}:
        true.add("csf_inflammatory")
    if rc.test_findings & {"anti_ri", "anti_hu"}:
        true.add("onconeural_antibody_positive")
    if h.relapse_date is not None:
        true.add("relapse")
    brain = [t for t in case.tests if t.modality in ("mri", "ct") and "brain" in t.regions]
    if brain:
        true.add("brain_imaging_done")
        if all(t.result == "negative" for t in brain):
            true.add("brain_imaging_normal")
    for t in case.tests:
        mod = kb.modalities.get(t.modality)
        if mod is None:
            continue
        if mod.done_fact:
            true.add(mod.done_fact)
        if t.result == "negative" and mod.negative_fact:
            true.add(mod.negative_fact)
        if t.result == "equivocal" and mod.equivocal_fact:
            true.add(mod.equivocal_fact)
        if t.modality == "ultrasound" and "pelvis" in t.regions:
            true.add("pelvic_ultrasound_done")
    # regional studies that look at the body without completing it (ultrasound, chest X-ray)
    looked = [(t, kb.modalities[t.modality]) for t in case.tests if body_regions(t.regions)]
    partial = [
        t
        for t, m in looked
        if m.kind == "imaging"
        and m.children
        and m.finds == "regions"
        and not m.completes_search
        and "whole_body" not in m.default_regions
    ]
    cross = [t for t, m in looked if m.completes_search]
    if partial and not cross:
        true.add("partial_body_imaging_only")
    if case.severity is not None:
        true.add("severity_scored")
    return Facts(frozenset(true), frozenset(open_))


def derive_facts(
    rc: ResolvedCase,
    base: Facts,
    oms: OmsResult,
    differential: tuple[DifferentialEntry, ...],
    tumour: object,
    severity: SeverityResult | None,
    kb: KnowledgeBase,
    view: SearchView,
) -> Facts:
    """All facts: the case's plus those from criteria, differential, tumour, severity and the
    search as it stands now (``view``: the tests that count since a relapse or resection)."""
    from omscds.reasoning.tumour import TumourContext  # local: tumour imports facts' peers

    assert isinstance(tumour, TumourContext)
    true = set(base.true)
    if oms.status == "criteria_met":
        true.update({"oms_met", "oms_met_or_possible"})
    elif oms.status == "possible":
        true.update({"oms_possible", "oms_met_or_possible"})
    if tumour.question:
        true.add("tumour_question")
    if view.reopened:
        true.add("search_reopened")
    adult = "adult" in true
    histology = [
        t
        for t in view.tests
        if t.histology is not None
        and t.result != "negative"
        and (t.histology in NEUROBLASTIC or adult)
    ]
    seen = [t for t in view.tests if is_tumour_positive(t, kb) and _anatomical(t, kb)]
    functional = [t for t in view.tests if is_tumour_positive(t, kb) and not _anatomical(t, kb)]
    if histology:
        true.add("histology_confirmed")
        if any(t.histology in NEUROBLASTIC for t in histology):
            true.add("histology_neuroblastic")
    if seen:
        true.add("tumour_seen")
    elif functional:
        true.add("functional_positive")
    if (seen or functional) and not histology:
        true.add("study_positive")
    if view.uncovered:
        true.add("search_incomplete")
    elif not (seen or functional or histology):
        true.add("search_complete_negative")
    if (
        severity is not None
        and severity.total is not None
        and (severity.total >= kb.param("severe_presentation_total"))
    ):
        true.add("severe_presentation")
    if "search_complete_negative" in true and _surveillance_due(rc, view, kb):
        true.add("surveillance_due")
    share = kb.param("ddx_consider_share")
    for entry in differential:
        fact = f"ddx_{entry.condition}"
        if fact in kb.facts and entry.score >= share:
            true.add(fact)
    add_composites(true, kb)
    if differential and _mimic_leads(
        differential[0].condition, Facts(frozenset(true), base.open), kb
    ):
        true.add("mimic_leads")
        add_composites(true, kb)
    return Facts(frozenset(true), base.open)


def _anatomical(test: TestResult, kb: KnowledgeBase) -> bool:
    """CT, MRI and whole-body MRI show the anatomy (the modalities that complete the search)."""
    mod = kb.modalities.get(test.modality)
    return bool(mod and mod.completes_search)


def _finding_names(kb: KnowledgeBase) -> tuple[tuple[str, tuple[str, str, str]], ...]:
    """Each finding with its three fact names (present, absent, unknown)."""
    return kb.memo(
        "facts.finding_names",
        lambda: tuple((k, (f"finding:{k}", f"absent:{k}", f"unknown:{k}")) for k in kb.findings),
    )


def _composites(
    kb: KnowledgeBase,
) -> tuple[tuple[str, frozenset[str], frozenset[str], frozenset[str]], ...]:
    return kb.memo(
        "facts.composites",
        lambda: tuple(
            (f.id, frozenset(f.when_all), frozenset(f.when_any), frozenset(f.when_none))
            for f in kb.facts.values()
            if f.kind == "composite"
        ),
    )


def add_composites(true: set[str], kb: KnowledgeBase) -> None:
    """Add every composite fact that holds, in the knowledge base's order (a composite may
    build on the ones before it)."""
    for fid, when_all, when_any, when_none in _composites(kb):
        if (
            true.issuperset(when_all)
            and (not when_any or not when_any.isdisjoint(true))
            and true.isdisjoint(when_none)
        ):
            true.add(fid)


def _mimic_leads(condition: str, facts: Facts, kb: KnowledgeBase) -> bool:
    """The leading condition has its own explaining test and that test's rule still fires."""
    cond = next((c for c in kb.differential if c.id == condition), None)
    if cond is None or cond.explained_by is None or condition == "oms":
        return False
    rule = next(r for r in kb.recommendations if r.id == cond.explained_by)
    return rule_fires(facts, rule.when_all, rule.when_any, rule.when_none)


def _surveillance_due(rc: ResolvedCase, view: SearchView, kb: KnowledgeBase) -> bool:
    """The last complete search is older than the first surveillance interval (dates needed)."""
    visit = rc.case.visit_date
    if visit is None:
        return False
    dates = [
        t.date
        for t in view.tests
        if t.date is not None
        and kb.modalities[t.modality].completes_search
        and t.result == "negative"
    ]
    if not dates:
        return False
    months = (visit - max(dates)).days / 30.4375
    return months >= kb.param("surveillance_first_months_low")
