"""A format-neutral outline of an assessment: sections of styled lines, rendered as Markdown
(``render_markdown``) or as coloured terminal text by the CLI. One outline, several renderers.

The first section is the view's summary (``omscds.view``), the same answer the HTML report, the
brief line and the CDS card lead with; alerts and details follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, Case
from omscds.reasoning.workup import URGENCY_ORDER
from omscds.view import AssessmentView, CitationIndex, build_view, percent, share, word

__all__ = ["Line", "Section", "outline", "render_markdown"]


@dataclass(frozen=True)
class Line:
    text: str
    #: "", "critical", "warning", "info", "good", "muted", "strong"
    style: str = ""
    indent: int = 0


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]


def _summary(v: AssessmentView, nums: CitationIndex) -> Section:
    """The answer first: phase, OMS, the tumour search, the next action and why, the reminder."""
    s = v.summary
    t = s.tumour
    lines = [Line(f"Case {v.case_id or '(no id)'}", "strong")]
    if s.phase_label:
        lines.append(Line(f"Phase: {s.phase_label}", "strong"))
    lines.append(Line(s.oms_text))
    lines.append(
        Line(
            f"Tumour: {t.text}",
            "warning" if t.status in ("suspected", "search_incomplete") else "",
        )
    )
    if t.search_text:
        lines.append(Line(t.search_text, "warning" if t.uncovered else "", 1))
    if s.next_action is not None:
        na = s.next_action
        lines.append(Line(f"Next: {na.line}{_cite(na.sources, nums)}", "strong"))
        why = "; ".join(x for x in (na.why.rstrip("."), na.yield_text) if x)
        if why:
            lines.append(Line(f"Why: {why}.", "", 1))
    if s.reminder is not None:
        lines.append(
            Line(f"Do not wait: {s.reminder.title}{_cite(s.reminder.sources, nums)}", "critical")
        )
    if v.inputs is not None:
        i = v.inputs
        lines.append(
            Line(
                f"Inputs: age {i.age}, sex {i.sex}"
                + (f", visit {i.visit_date}" if i.visit_date else ""),
                "muted",
            )
        )
        if i.present:
            lines.append(Line(f"Present: {', '.join(i.present)}", "muted", 1))
        if i.absent:
            lines.append(Line(f"Absent: {', '.join(i.absent)}", "muted", 1))
        if i.history:
            lines.append(Line(f"History: {'; '.join(i.history)}", "muted", 1))
        for test in i.tests:
            where = f" ({test.regions})" if test.regions else ""
            detail = f": {test.detail}" if test.detail else ""
            lines.append(Line(f"{test.date} {test.label}{where} {test.result}{detail}", "muted", 1))
    lines.append(
        Line(
            f"omscds {v.meta.omscds_version}, knowledge base {v.meta.kb_version} "
            f"(sha256 {v.meta.kb_sha256[:12]})",
            "muted",
        )
    )
    return Section(f"Summary ({v.notice.rstrip('.').lower()})", tuple(lines))


def _pathway(a: Assessment, nums: CitationIndex) -> Section | None:
    """Where the patient stands and what to do next: the first thing a clinician reads."""
    p = a.pathway
    if p is None:
        return None
    lines = [
        Line(f"Phase: {p.phase_label}", "strong"),
        Line(p.why),
        Line(f"Branch: {p.branch_label}. Team: {p.team}.", "muted"),
    ]
    if p.uncovered and p.phase in ("search", "localise", "found"):
        lines.append(
            Line(
                "Regions not yet imaged by CT/MRI"
                + (f" since {p.since}" if p.since else "")
                + f": {', '.join(p.uncovered)}",
                "warning",
            )
        )
    for st in p.steps:
        what = st.title or st.rule
        if st.regions:
            what += f" [{', '.join(st.regions)}]"
        if st.status == "now":
            lines.append(Line(f"NOW ({st.urgency}): {what}{_cite(st.sources, nums)}", "strong", 1))
        else:
            lines.append(Line(f"THEN, {st.condition}: {what}{_cite(st.sources, nums)}", "info", 1))
    lines.append(Line(f"Moves on when: {p.moves_on}", "muted"))
    return Section("Where the patient stands and what comes next", tuple(lines))


def _staging(a: Assessment, nums: CitationIndex) -> Section | None:
    """The tumour's stage and risk groups, what is still missing, and the cited notes."""
    s = a.staging
    if s is None:
        return None
    lines: list[Line] = []
    for c in (s.stage, s.inrg_group, s.inrg_risk, s.cog_risk):
        style = "strong" if c.result is not None else "warning"
        lines.append(Line(f"{c.explanation}{_cite(c.sources, nums)}", style, 1))
        if c.assumption_note:
            lines.append(Line(c.assumption_note, "muted", 2))
    if s.idrfs_present:
        lines.append(Line(f"IDRFs present ({s.idrf_count}): {', '.join(s.idrfs_present)}", "", 1))
    for w in s.workup:
        if w.status in ("missing", "conditional"):
            mark = "MISSING" if w.status == "missing" else "IF NEEDED"
            note = f" ({w.note})" if w.note else ""
            lines.append(Line(f"{mark}: {w.label}{note}{_cite(w.sources, nums)}", "warning", 1))
    for group in (s.practice, s.outcomes, s.oms_notes):
        for n in group:
            lines.append(Line(f"{n.text}{_cite(n.sources, nums)}", "info", 1))
    for note in s.notes:
        lines.append(Line(f"Read from the case: {note}", "muted", 1))
    return Section(s.title or "Staging and risk", tuple(lines))


def _pns_care(a: Assessment, nums: CitationIndex) -> Section | None:
    p = a.pns_care
    if p is None:
        return None
    lines = [Line(f"{p.explanation}{_cite(p.sources, nums)}", "strong")]
    for m in p.missing:
        lines.append(Line(f"Open: {m}", "warning", 1))
    if p.assumption_parts:
        lines.append(
            Line(
                "Rests on UNCONFIRMED values (assumptions): " + "; ".join(p.assumption_parts),
                "muted",
                1,
            )
        )
    for n in p.notes:
        lines.append(Line(f"{n.text}{_cite(n.sources, nums)}", "info", 1))
    return Section(p.title or "PNS-Care score", tuple(lines))


def _evidence_label(path: str, kb: KnowledgeBase) -> str:
    """``findings.ataxia`` as its label ("Ataxia (gait, truncal or limb)")."""
    f = kb.findings.get(path.removeprefix("findings.")) if path.startswith("findings.") else None
    return f.label if f else path


def _cite(sources: tuple[str, ...], numbers: CitationIndex) -> str:
    return numbers.label(sources)


def outline(a: Assessment, kb: KnowledgeBase, case: Case | None = None) -> list[Section]:
    """The report's sections in reading order: the summary first (with the inputs when ``case``
    is given), then alerts and details, with numbered citations collected at the end."""
    nums = CitationIndex(kb)
    labels = {k: m.label for k, m in kb.modalities.items()}
    sections: list[Section] = [_summary(build_view(a, kb, case=case), nums)]
    path = _pathway(a, nums)
    if path is not None:
        sections.append(path)
    staging = _staging(a, nums)
    if staging is not None:
        sections.append(staging)

    if a.alerts:
        sections.append(
            Section(
                "Alerts",
                tuple(
                    Line(f"{al.level.upper()}: {al.message}{_cite(al.sources, nums)}", al.level)
                    for al in a.alerts
                ),
            )
        )

    crit = [
        Line(
            f"Status: {a.oms.status.replace('_', ' ')} ({a.oms.criteria_count} of "
            f"{len(a.oms.criteria)} met). {a.oms.explanation}",
            "strong",
        )
    ]
    for c in a.oms.criteria:
        mark = {True: "[x] met", False: "[ ] not met", None: "[?] unknown"}[c.met]
        where = f" ({', '.join(_evidence_label(e, kb) for e in c.evidence)})" if c.evidence else ""
        crit.append(
            Line(
                f"{mark}: {c.label}{where}{_cite(c.sources, nums)}", "good" if c.met else "muted", 1
            )
        )
    sections.append(Section("OMS criteria (3 of 4)", tuple(crit)))

    t = a.tumour
    status_line = (
        Line(
            "Status: not applicable: no tumour question arises from the findings entered "
            "(no probability is given).",
            "strong",
        )
        if t.status == "not_applicable"
        else Line(
            f"Status: {t.status.replace('_', ' ')}; probability of a tumour {percent(t.probability)} "
            f"(interval {percent(t.interval[0])}-{percent(t.interval[1])}); prior {percent(t.prior)}"
            + (
                f" ({percent(t.prior_interval[0])}-{percent(t.prior_interval[1])})"
                if t.prior_interval
                else ""
            ),
            "warning" if t.status in ("suspected", "search_incomplete") else "strong",
        )
    )
    tl = [
        status_line,
        Line(
            "Searched by CT/MRI: "
            + ", ".join(
                f"{r} {'(' + by + ')' if by else 'NOT COVERED'}"
                for r, by in t.searched_regions.items()
            )
        ),
    ]
    for ev in t.evidence:
        lr = f"LR {ev.likelihood_ratio:.2f}"
        if ev.likelihood_ratio_interval:
            lr += f" ({ev.likelihood_ratio_interval[0]:.2f}-{ev.likelihood_ratio_interval[1]:.2f})"
        tl.append(
            Line(
                f"Test {ev.test + 1}: {labels.get(ev.modality, ev.modality)} {ev.result} "
                f"({', '.join(map(word, ev.regions))}): {lr} -> "
                + (f"{percent(ev.probability_after)}. " if t.status != "not_applicable" else "")
                + f"{ev.note}{_cite(ev.sources, nums)}",
                "",
                1,
            )
        )
    if t.status != "not_applicable":
        tl.append(Line(t.explanation, "muted"))
    sections.append(Section("Occult tumour", tuple(tl)))
    pns = _pns_care(a, nums)
    if pns is not None:
        sections.append(pns)

    if t.next_tests:
        sections.append(
            Section(
                "Next-best test (yield now, probability left if negative)",
                tuple(
                    Line(
                        f"{i}. {labels.get(nt.modality, nt.modality)} ({', '.join(map(word, nt.regions))}): "
                        f"finds a tumour {percent(nt.yield_probability)}"
                        f", leaves {percent(nt.probability_if_negative)} if negative; burden: {nt.burden} "
                        f"({nt.why})",
                        "",
                        1,
                    )
                    for i, nt in enumerate(t.next_tests, 1)
                ),
            )
        )

    if a.recommendations:
        rl: list[Line] = []
        for urgency in sorted(URGENCY_ORDER, key=URGENCY_ORDER.__getitem__):
            recs = [r for r in a.recommendations if r.urgency == urgency]
            if not recs:
                continue
            rl.append(Line(urgency.upper(), "critical" if urgency == "urgent" else "strong"))
            for r in recs:
                what = r.title or r.id
                if r.regions:
                    what += f" [{', '.join(r.regions)}]"
                if r.interval_months_range:
                    lo, hi = r.interval_months_range
                    what += f" (repeat in {lo:g}-{hi:g} months)"
                rl.append(Line(f"{what} ({r.id})", "strong", 1))
                rl.append(
                    Line(
                        r.rationale
                        + _cite(r.sources, nums)
                        + (" (rests on an assumption)" if r.assumption else ""),
                        "",
                        2,
                    )
                )
        if a.plan_rationale:
            rl.append(Line(a.plan_rationale, "muted"))
        sections.append(Section("What to do next", tuple(rl)))

    if a.differential:
        dl = []
        for d in a.differential[:6]:
            dl.append(Line(f"{d.rank}. {d.label or d.condition} ({share(d.score)})", "strong", 1))
            if d.support:
                dl.append(Line("for: " + "; ".join(d.support), "good", 2))
            if d.against:
                dl.append(Line("against: " + "; ".join(d.against), "warning", 2))
            if d.atypical:
                dl.append(Line("atypical: " + "; ".join(d.atypical), "warning", 2))
            if d.separate_by:
                dl.append(Line("next question: " + d.separate_by, "muted", 2))
        dl.append(Line(a.differential_method, "muted"))
        sections.append(Section("Differential diagnosis", tuple(dl)))

    if a.severity is not None:
        s = a.severity
        total = f"{s.total}/{s.max}" if s.total is not None else "incomplete"
        sections.append(
            Section("Severity", (Line(f"{s.label}: {total}. {s.note}{_cite(s.sources, nums)}"),))
        )

    if a.warnings:
        sections.append(Section("Input notes", tuple(Line(w, "warning") for w in a.warnings)))

    refs = [
        Line(f"{r.n}. {r.text}" + (f" {r.link}" if r.link else ""), "muted")
        for r in nums.references()
    ]
    if refs:
        sections.append(Section("References", tuple(refs)))
    n_assume = len(a.assumptions)
    sections.append(
        Section(
            "Disclaimer",
            (
                Line(a.disclaimer, "muted"),
                Line(
                    f"{n_assume} modelling assumptions stand behind this output (listed in the JSON "
                    "'assumptions' field; 'omscds kb check' lists all).",
                    "muted",
                ),
            ),
        )
    )
    return sections


def render_markdown(a: Assessment, kb: KnowledgeBase, case: Case | None = None) -> str:
    out: list[str] = []
    for sec in outline(a, kb, case):
        out.append(f"## {sec.title}\n")
        for line in sec.lines:
            text = f"**{line.text}**" if line.style in ("strong", "critical") else line.text
            prefix = "  " * max(line.indent - 1, 0) + ("- " if line.indent else "")
            out.append(prefix + text)
        out.append("")
    return "\n".join(out)
