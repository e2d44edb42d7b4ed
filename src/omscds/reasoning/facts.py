"""Named boolean facts about a case: the vocabulary that knowledge-base rules are written in.

Rules in ``differential.yaml``, ``recommendations.yaml`` and ``alerts.yaml`` fire on these names;
``KNOWN_FACTS`` lists them so that a test can prove every rule names a real fact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase
from omscds.model import DifferentialEntry, OmsResult, SeverityResult
from omscds.reasoning.findings import ResolvedCase

__all__ = [
    "CASE_FACTS",
    "DERIVED_FACTS",
    "Facts",
    "base_facts",
    "derive_facts",
    "fact_label",
    "is_known_fact",
    "rule_fires",
]

#: facts read straight from the case (findings are ``finding:<key>`` / ``absent:<key>``)
CASE_FACTS: dict[str, str] = {
    "child": "age under the adult cut-off",
    "adult": "adult",
    "infant_under_6m": "age under 6 months",
    "female": "female",
    "young_woman": "woman younger than 30",
    "preceding_infection": "preceding infection",
    "no_preceding_infection": "no preceding infection",
    "recent_vaccination": "recent vaccination",
    "possible_toxic_ingestion": "possible toxic ingestion",
    "relapse": "OMS relapse after remission",
    "prior_tumour_resected": "tumour resected before",
    "duration_beyond_aca_course": "symptoms beyond the usual post-infectious course (about 4 weeks)",
    "duration_within_aca_course": "symptoms within the usual post-infectious course",
    "cerebellar_hypoperfusion": "cerebellar hypoperfusion on perfusion SPECT",
    "cerebellar_atrophy": "cerebellar atrophy on MRI",
    "cerebellar_signal_change": "cerebellar swelling or signal change on MRI",
    "posterior_fossa_mass": "posterior fossa mass on imaging",
    "demyelinating_lesions": "multifocal white-matter lesions",
    "epileptiform_discharges": "epileptiform EEG",
    "toxin_detected": "toxicology positive",
    "csf_inflammatory": "CSF oligoclonal bands or B-cell expansion",
    "onconeural_antibody_positive": "onconeural antibody positive",
    "brain_imaging_done": "brain MRI/CT done",
    "brain_imaging_normal": "brain MRI/CT normal",
    "toxicology_done": "toxicology screen done",
    "csf_done": "CSF analysed",
    "antibodies_done": "onconeural antibodies tested",
    "mibg_done": "MIBG done",
    "mibg_negative": "MIBG negative",
    "mibg_equivocal": "MIBG equivocal",
    "urine_done": "urine HVA/VMA done",
    "urine_negative": "urine HVA/VMA normal",
    "mammography_done": "mammography done",
    "fdg_pet_done": "FDG-PET done",
    "partial_body_imaging_only": "only ultrasound / chest X-ray of the body so far",
    "severity_scored": "severity scored",
}

#: facts derived from the reasoning (criteria, differential, tumour, severity, time)
DERIVED_FACTS: dict[str, str] = {
    "oms_met": "OMS criteria met",
    "oms_possible": "OMS possible",
    "oms_met_or_possible": "OMS criteria met or possible",
    "tumour_question": "an occult tumour is in question",
    "search_incomplete": "body search incomplete",
    "search_complete_negative": "neck, chest, abdomen and pelvis imaged and negative",
    "study_positive": "a study was positive (no histology yet)",
    "histology_confirmed": "tumour confirmed by histology",
    "histology_neuroblastic": "neuroblastic tumour on histology",
    "severe_presentation": "severe presentation",
    "surveillance_due": "last complete search older than the surveillance interval",
    "ddx_posterior_fossa_tumour": "posterior fossa tumour in the differential",
    "ddx_adem": "ADEM in the differential",
    "ddx_acute_cerebellitis": "acute cerebellitis in the differential",
    "ddx_toxic_ingestion": "toxic ingestion in the differential",
    "ddx_miller_fisher_syndrome": "Miller Fisher syndrome in the differential",
    "ddx_epileptic_seizures": "epileptic seizures in the differential",
}


def is_known_fact(name: str, kb: KnowledgeBase) -> bool:
    if name.startswith(("finding:", "absent:", "unknown:")):
        return name.split(":", 1)[1] in kb.findings
    return name in CASE_FACTS or name in DERIVED_FACTS


def fact_label(name: str, kb: KnowledgeBase) -> str:
    if name.startswith("finding:"):
        return kb.findings[name[8:]].label.lower()
    if name.startswith("absent:"):
        return "no " + kb.findings[name[7:]].label.lower()
    return CASE_FACTS.get(name) or DERIVED_FACTS.get(name) or name


@dataclass(frozen=True)
class Facts:
    true: frozenset[str]
    #: facts that are not true now but could become so with more information
    open: frozenset[str]

    def __contains__(self, name: object) -> bool:
        return name in self.true


def rule_fires(
    facts: Facts, when_all: Iterable[str], when_any: Iterable[str], when_none: Iterable[str]
) -> bool:
    """All of ``when_all``, one of ``when_any`` (if any given) and none of ``when_none`` hold."""
    true = facts.true
    any_set = frozenset(when_any)
    return (
        true.issuperset(when_all)
        and (not any_set or not any_set.isdisjoint(true))
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
    if case.sex == "female":
        true.add("female")
        if adult and case.age_months < kb.param("young_woman_age_months"):
            true.add("young_woman")
    for key in kb.findings:
        state = rc.state(key)
        if state == "present":
            true.add(f"finding:{key}")
        elif state == "absent":
            true.add(f"absent:{key}")
        else:
            true.add(f"unknown:{key}")
            open_.update({f"finding:{key}", f"absent:{key}"})
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
    weeks = h.symptom_duration_weeks
    if weeks is None:
        open_.update({"duration_beyond_aca_course", "duration_within_aca_course"})
    elif weeks > kb.param("aca_typical_course_weeks"):
        true.add("duration_beyond_aca_course")
    else:
        true.add("duration_within_aca_course")
    true.update(tf for tf in rc.test_findings if tf in CASE_FACTS)
    if rc.test_findings & {"oligoclonal_bands", "csf_b_cell_expansion"}:
        true.add("csf_inflammatory")
    if rc.test_findings & {"anti_ri", "anti_hu"}:
        true.add("onconeural_antibody_positive")
    done = {t.modality for t in case.tests}
    brain = [t for t in case.tests if t.modality in ("mri", "ct") and "brain" in t.regions]
    if brain:
        true.add("brain_imaging_done")
        if all(t.result == "negative" for t in brain):
            true.add("brain_imaging_normal")
    for modality, fact in (
        ("toxicology", "toxicology_done"),
        ("csf", "csf_done"),
        ("onconeural_antibodies", "antibodies_done"),
        ("mibg", "mibg_done"),
        ("urine_catecholamines", "urine_done"),
        ("mammography", "mammography_done"),
        ("fdg_pet", "fdg_pet_done"),
    ):
        if modality in done:
            true.add(fact)
    for t in case.tests:
        if t.modality == "mibg" and t.result == "negative":
            true.add("mibg_negative")
        if t.modality == "mibg" and t.result == "equivocal":
            true.add("mibg_equivocal")
        if t.modality == "urine_catecholamines" and t.result == "negative":
            true.add("urine_negative")
    body = [t for t in case.tests if t.modality in ("ultrasound", "chest_xray")]
    cross = [
        t
        for t in case.tests
        if kb.modalities[t.modality].completes_search
        and set(t.regions) & {"neck", "chest", "abdomen", "pelvis", "whole_body"}
    ]
    if body and not cross:
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
) -> Facts:
    """All facts: the case's plus those from criteria, differential, tumour and severity."""
    from omscds.reasoning.tumour import TumourContext  # local: tumour imports facts' peers

    assert isinstance(tumour, TumourContext)
    true = set(base.true)
    if oms.status == "criteria_met":
        true.update({"oms_met", "oms_met_or_possible"})
    elif oms.status == "possible":
        true.update({"oms_possible", "oms_met_or_possible"})
    t = tumour.result
    if tumour.question:
        true.add("tumour_question")
    status_fact = {
        "search_incomplete": "search_incomplete",
        "not_found": "search_complete_negative",
        "suspected": "study_positive",
        "confirmed": "histology_confirmed",
    }.get(t.status)
    if status_fact:
        true.add(status_fact)
    if t.status == "not_applicable" and not all(t.searched_regions.values()):
        true.add("search_incomplete")
    if t.status == "confirmed" and any(
        x.histology in ("neuroblastoma", "ganglioneuroblastoma", "ganglioneuroma")
        for x in rc.case.tests
    ):
        true.add("histology_neuroblastic")
    if (
        severity is not None
        and severity.total is not None
        and (severity.total >= kb.param("severe_presentation_total"))
    ):
        true.add("severe_presentation")
    if _surveillance_due(rc, kb) and t.status == "not_found":
        true.add("surveillance_due")
    share = kb.param("ddx_consider_share")
    for entry in differential:
        fact = f"ddx_{entry.condition}"
        if fact in DERIVED_FACTS and entry.score >= share:
            true.add(fact)
    return Facts(frozenset(true), base.open)


def _surveillance_due(rc: ResolvedCase, kb: KnowledgeBase) -> bool:
    """The last complete search is older than the first surveillance interval (dates needed)."""
    visit = rc.case.visit_date
    if visit is None:
        return False
    dates = [
        t.date
        for t in rc.case.tests
        if t.date is not None
        and kb.modalities[t.modality].completes_search
        and t.result == "negative"
    ]
    if not dates:
        return False
    months = (visit - max(dates)).days / 30.4375
    return months >= kb.param("surveillance_first_months_low")
