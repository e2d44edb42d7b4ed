"""``build_view``: an assessment (and optionally its case) as the values every face renders.

Pure: no clock (the caller gives the generation time), no files, no environment. Every clinical
number comes from the assessment; every sentence is put together here from its structured fields
through the translator, so that the catalogue holds the wording and the engine holds the facts.
"""

from __future__ import annotations

import datetime as dt

from omscds.knowledge import KnowledgeBase
from omscds.model import BODY_REGIONS, Assessment, Case, PathwayStep, TestResult
from omscds.view.model import (
    Action,
    AssessmentView,
    Inputs,
    InputTest,
    Meta,
    ParentsPage,
    RegionState,
    Summary,
    TumourLine,
)
from omscds.view.text import N_, Translate, first_sentence, format_age, percent, same, word

__all__ = ["build_view", "next_action", "reminder_step", "shows_probability"]

OMS_SHORT: dict[str, str] = {
    "criteria_met": N_("OMS criteria met"),
    "possible": N_("possible OMS"),
    "not_met": N_("OMS criteria not met"),
}
#: tumour statuses whose headline carries a probability (not: no question; not: histology)
_WITH_PROBABILITY = ("suspected", "search_incomplete", "not_found")


def shows_probability(status: str) -> bool:
    """Whether a tumour status is shown with its probability.

    >>> shows_probability("not_applicable"), shows_probability("search_incomplete")
    (False, True)
    """
    return status in _WITH_PROBABILITY


def next_action(a: Assessment, kb: KnowledgeBase) -> PathwayStep | None:
    """The phase's first step ordered now (not one of the branch's standing steps such as the
    immunotherapy referral, which every child with OMS has); else the first step of any kind."""
    if a.pathway is None or not a.pathway.steps:
        return None
    standing = set(kb.pathway.always.get(a.pathway.branch, ())) if kb.pathway else set()
    now = [s for s in a.pathway.steps if s.status == "now"]
    own = [s for s in now if s.rule not in standing]
    return (own or now or list(a.pathway.steps))[0]


def reminder_step(a: Assessment, kb: KnowledgeBase) -> PathwayStep | None:
    """The branch's standing step that is urgent now (pathway.yaml ``always``: for a child with
    OMS, immunotherapy without waiting for the tumour search), unless it is the next action."""
    if a.pathway is None or kb.pathway is None:
        return None
    standing = set(kb.pathway.always.get(a.pathway.branch, ()))
    first = next_action(a, kb)
    for s in a.pathway.steps:
        if s.rule in standing and s.status == "now" and s.urgency == "urgent" and s is not first:
            return s
    return None


def _tumour(a: Assessment, kb: KnowledgeBase, tr: Translate) -> TumourLine:
    t = a.tumour
    labels = kb.memo("view.modality_labels", lambda: {k: m.label for k, m in kb.modalities.items()})
    status_label = word(t.status, tr)
    with_p = shows_probability(t.status)
    if t.status == "not_applicable":
        text = tr(
            N_("no tumour question arises from the findings entered (no probability is given)")
        )
    elif t.status == "confirmed":
        text = tr(N_("confirmed by histology"))
    else:
        text = tr(N_("%(status)s; P(tumour) %(p)s (interval %(lo)s to %(hi)s)")) % {
            "status": status_label,
            "p": percent(t.probability),
            "lo": percent(t.interval[0]),
            "hi": percent(t.interval[1]),
        }
    pw = a.pathway
    search = tuple(pw.search_regions) if pw is not None and pw.search_regions else BODY_REGIONS
    open_ = (
        set(pw.uncovered)
        if pw is not None
        else {r for r in search if t.searched_regions.get(r) is None}  # type: ignore[call-overload]
    )
    regions = []
    for r in search:
        by = None if r in open_ else t.searched_regions.get(r)  # type: ignore[call-overload]
        regions.append(RegionState(r, word(r, tr), by, labels.get(by, by or "") if by else ""))
    uncovered = tuple(s.label for s in regions if s.covered_by is None)
    covered = tuple(s.label for s in regions if s.covered_by is not None)
    parts = []
    if t.status != "not_applicable":
        if uncovered:
            since = (
                tr(N_(" (since %(d)s)")) % {"d": pw.since.isoformat()}
                if pw is not None and pw.since
                else ""
            )
            parts.append(
                tr(N_("Not yet imaged by CT/MRI%(since)s: %(regions)s."))
                % {"since": since, "regions": ", ".join(uncovered)}
            )
        if covered:
            parts.append(
                tr(N_("Imaged: %(regions)s."))
                % {
                    "regions": ", ".join(
                        f"{s.label} ({s.covered_label})" for s in regions if s.covered_by
                    )
                }
            )
    return TumourLine(
        status=t.status,
        status_label=status_label,
        text=text,
        probability=t.probability if with_p else None,
        interval=t.interval if with_p else None,
        regions=tuple(regions),
        uncovered=uncovered,
        covered=covered,
        search_text=" ".join(parts),
    )


def _action(step: PathwayStep, a: Assessment, tr: Translate) -> Action:
    rec = next((r for r in a.recommendations if r.id == step.rule), None)
    urgency = word(step.urgency, tr)
    if step.status == "now":
        when = tr(N_("Now (%(urgency)s)")) % {"urgency": urgency}
    else:
        cond = step.condition or tr(N_("if needed"))
        when = cond[:1].upper() + cond[1:]
    regions = tuple(word(r, tr) for r in step.regions)
    yield_text = ""
    if step.modality and shows_probability(a.tumour.status):
        nt = next(
            (
                n
                for n in a.tumour.next_tests
                if n.modality == step.modality
                and (not step.regions or set(step.regions) & set(n.regions))
            ),
            None,
        )
        if nt is not None:
            yield_text = tr(
                N_("finds a tumour now with probability %(y)s; %(left)s left if negative")
            ) % {
                "y": percent(nt.yield_probability),
                "left": percent(nt.probability_if_negative),
            }
    title = step.title or step.rule
    line = f"{when}: {title}" + (f" ({', '.join(regions)})" if regions else "")
    return Action(
        rule=step.rule,
        kind=step.kind,
        title=title,
        status=step.status,
        urgency=step.urgency,
        urgency_label=urgency,
        when=when,
        regions=regions,
        why=first_sentence(rec.rationale) if rec else "",
        yield_text=yield_text,
        sources=step.sources,
        line=line,
    )


def _summary(a: Assessment, kb: KnowledgeBase, tr: Translate) -> Summary:
    tumour = _tumour(a, kb, tr)
    oms_short = tr(OMS_SHORT.get(a.oms.status, a.oms.status))
    oms_text = tr(N_("%(oms)s (%(n)s of %(total)s criteria)")) % {
        "oms": oms_short,
        "n": a.oms.criteria_count,
        "total": len(a.oms.criteria),
    }
    if tumour.status == "not_applicable":
        headline = tr(N_("%(oms)s: no tumour question")) % {"oms": oms_short}
    else:
        headline = tr(N_("%(oms)s: tumour %(status)s")) % {
            "oms": oms_short,
            "status": tumour.status_label,
        }
        if tumour.status == "search_incomplete" and tumour.uncovered:
            headline += tr(N_(" (%(regions)s not imaged)")) % {
                "regions": ", ".join(tumour.uncovered)
            }
        if tumour.probability is not None:
            headline += tr(N_("; P(tumour) %(p)s")) % {"p": percent(tumour.probability)}
    step = next_action(a, kb)
    remind = reminder_step(a, kb)
    pw = a.pathway
    return Summary(
        phase=pw.phase if pw else None,
        phase_label=pw.phase_label if pw else "",
        branch_label=pw.branch_label if pw else "",
        oms_status=a.oms.status,
        oms_text=oms_text,
        oms_short=oms_short,
        tumour=tumour,
        next_action=_action(step, a, tr) if step else None,
        reminder=_action(remind, a, tr) if remind else None,
        alert_count=len(a.alerts),
        headline=headline,
    )


def _test(test: TestResult, kb: KnowledgeBase, tr: Translate) -> InputTest:
    m = kb.modalities.get(test.modality)
    detail = []
    if test.location:
        detail.append(test.location)
    if test.histology:
        detail.append(word(test.histology, tr))
    for f in test.findings:
        tf = kb.test_findings.get(f)
        detail.append(tf.label if tf else f.replace("_", " "))
    return InputTest(
        date=test.date.isoformat() if test.date else tr(N_("undated")),
        label=m.label if m else test.modality,
        regions=", ".join(word(r, tr) for r in test.regions),
        result=word(test.result, tr),
        detail="; ".join(detail),
    )


def _inputs(case: Case, kb: KnowledgeBase, tr: Translate) -> Inputs:
    by_state: dict[str, list[str]] = {"present": [], "absent": [], "unknown": []}
    for key, state in case.findings.items():
        fk = kb.finding_key(key)
        f = kb.findings.get(fk) if fk else None
        by_state.setdefault(state, []).append(f.label if f else key.replace("_", " "))
    h = case.history
    history = []
    if h.symptom_duration_weeks is not None:
        history.append(tr(N_("symptom duration %(w)s wk")) % {"w": f"{h.symptom_duration_weeks:g}"})
    for flag, text in (
        (h.preceding_infection, N_("Infection in the weeks before onset")),
        (h.recent_vaccination, N_("Vaccination in the weeks before onset")),
        (h.possible_toxic_ingestion, N_("Possible toxic ingestion")),
        (h.relapse, N_("Relapse after a remission")),
        (h.prior_tumour_resected, N_("A neuroblastic tumour was resected earlier")),
    ):
        if flag:
            history.append(tr(text))
    if h.relapse_date:
        history.append(tr(N_("relapse %(d)s")) % {"d": h.relapse_date.isoformat()})
    if h.resection is not None and h.resection.date:
        history.append(tr(N_("resection %(d)s")) % {"d": h.resection.date.isoformat()})
    if h.prior_cancer is not None:
        history.append(tr(N_("earlier cancer: %(c)s")) % {"c": word(h.prior_cancer.type, tr)})
    return Inputs(
        age=format_age(case.age_months, tr),
        sex=word(case.sex, tr),
        visit_date=case.visit_date.isoformat() if case.visit_date else "",
        present=tuple(by_state["present"]),
        absent=tuple(by_state["absent"]),
        unknown=tuple(by_state["unknown"]),
        history=tuple(history),
        tests=tuple(_test(t, kb, tr) for t in case.tests),
    )


_PARENT_OMS: dict[str, str] = {
    "criteria_met": N_(
        "The doctors are looking at a condition called opsoclonus-myoclonus syndrome (OMS), also "
        "known as dancing eye syndrome. The signs recorded match the description doctors use for it."
    ),
    "possible": N_(
        "The doctors are looking at a condition called opsoclonus-myoclonus syndrome (OMS), also "
        "known as dancing eye syndrome. Some, but not all, of the signs doctors use to describe it "
        "have been recorded so far."
    ),
    "not_met": N_(
        "The signs recorded so far do not match the usual description of opsoclonus-myoclonus "
        "syndrome (OMS); the doctors are also thinking about other causes."
    ),
}
_PARENT_TUMOUR: dict[str, str] = {
    "search_incomplete": N_(
        "This condition can be linked to a small growth called a neuroblastic tumour, so doctors "
        "look for one with scans. The scans so far have not yet looked at: %(regions)s."
    ),
    "not_found": N_(
        "This condition can be linked to a small growth called a neuroblastic tumour, so doctors "
        "look for one with scans. The scans so far have not found one; the doctors will say "
        "whether and when to look again."
    ),
    "suspected": N_(
        "A test has shown something that may be a growth (a tumour). More scans or tests are "
        "needed to see what it is and where it is."
    ),
    "confirmed": N_(
        "A growth (a tumour) has been found and examined. The cancer and surgery team will "
        "explain what it is and what comes next."
    ),
    "not_applicable": N_(
        "Nothing recorded so far points to a growth (a tumour) that needs to be looked for."
    ),
}
_PARENT_STEP: dict[str, str] = {
    "imaging": N_("The next step the report suggests is a scan."),
    "laboratory": N_("The next step the report suggests is a laboratory test."),
    "referral": N_("The next step the report suggests is to see a specialist team."),
    "treatment": N_("The next step the report suggests is treatment."),
}


def _parents(a: Assessment, s: Summary, tr: Translate) -> ParentsPage:
    adult = a.pathway is not None and a.pathway.branch == "adult"
    who = tr(N_("the patient")) if adult else tr(N_("your child"))
    paras = [
        tr(
            N_(
                "This page explains in plain words what a decision-support report says. It does "
                "not make a diagnosis: the doctors who know %(who)s decide, together with you."
            )
        )
        % {"who": who},
        tr(_PARENT_OMS[a.oms.status]),
    ]
    tumour = _PARENT_TUMOUR.get(a.tumour.status)
    if tumour:
        paras.append(tr(tumour) % {"regions": ", ".join(s.tumour.uncovered)})
    if s.next_action is not None:
        paras.append(
            tr(_PARENT_STEP.get(s.next_action.kind, N_("The report suggests a next step.")))
            + " "
            + tr(N_("Your doctors will explain what it is, why it is suggested and when."))
        )
    if s.reminder is not None:
        paras.append(
            tr(
                N_(
                    "Treatment for the eye and movement symptoms is usually not held back until "
                    "the search is finished. Ask the neurology team about it."
                )
            )
        )
    paras.append(
        tr(
            N_(
                "This page does not diagnose. It was produced by decision-support software and "
                "does not replace talking with the doctors. Please ask them any question you have."
            )
        )
    )
    title = (
        N_("For the patient and family: what this report says")
        if adult
        else N_("For parents: what this report says")
    )
    return ParentsPage(title=tr(title), paragraphs=tuple(paras))


def build_view(
    a: Assessment,
    kb: KnowledgeBase,
    *,
    case: Case | None = None,
    tr: Translate = same,
    generated: dt.datetime | None = None,
) -> AssessmentView:
    """The view of ``a``: its summary, the inputs (when ``case`` is given), versions and the
    plain-language page, in the language of ``tr``."""
    summary = _summary(a, kb, tr)
    return AssessmentView(
        case_id=a.case_id,
        summary=summary,
        inputs=_inputs(case, kb, tr) if case is not None else None,
        meta=Meta(
            omscds_version=a.omscds_version,
            kb_version=a.knowledge_base.version,
            kb_sha256=a.knowledge_base.sha256,
            generated=generated.strftime("%Y-%m-%d %H:%M %Z").strip() if generated else "",
        ),
        disclaimer=a.disclaimer,
        notice=tr(N_("Decision support, not a diagnosis.")),
        parents=_parents(a, summary, tr),
    )
