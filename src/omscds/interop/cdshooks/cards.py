"""Cards from an assessment: the OMS/tumour work-up card, alert cards, and the order warning.

This module only maps: the card's summary and the lead of its detail are the view's summary
(``omscds.view``), the same answer the reports and the page lead with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from omscds.interop.cdshooks.models import (
    SUMMARY_MAX,
    Action,
    Card,
    Coding,
    Link,
    Source,
    Suggestion,
)
from omscds.interop.fhir import codes as c
from omscds.interop.fhir.outbound import service_requests
from omscds.knowledge.schema import Source as Reference
from omscds.knowledge.terminology import Terminology
from omscds.model import Assessment, OrderReview
from omscds.view import AssessmentView, percent

__all__ = [
    "OVERRIDE_REASONS",
    "SOURCE",
    "alert_cards",
    "citation",
    "data_line",
    "order_warning_card",
    "shorten",
    "summary_lines",
    "workup_card",
]

SOURCE = Source(
    label="omscds (OMS decision support)",
    topic=Coding(system=c.omscds_system("topic"), code="oms-workup", display="OMS work-up"),
)
OVERRIDE_REASONS = [
    Coding(system=c.omscds_system("override-reason"), code=code, display=display)
    for code, display in (
        ("already-done", "Already done or ordered elsewhere"),
        ("not-applicable", "Does not apply to this patient"),
        ("patient-declined", "Patient or family declined"),
        ("clinical-judgement", "Clinical judgement: other plan"),
    )
]
_LEVEL = {"info": 0, "warning": 1, "critical": 2}


def shorten(text: str, limit: int = SUMMARY_MAX) -> str:
    """Cut to ``limit`` characters on a word boundary.

    >>> shorten("a b c", 3)
    'a…'
    """
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def summary_lines(view: AssessmentView) -> list[str]:
    """The view's summary as the card detail's first lines (Markdown)."""
    s = view.summary
    lines = []
    if s.phase_label:
        lines.append(f"**Phase**: {s.phase_label}")
    if s.next_action is not None:
        na = s.next_action
        where = f" ({', '.join(na.regions)})" if na.regions else ""
        why = "; ".join(x for x in (na.why.rstrip("."), na.yield_text) if x)
        lines.append(f"**Next**: {na.title}{where}; {na.when}" + (f". {why}." if why else ""))
    if s.reminder is not None:
        lines.append(f"**Do not wait**: {s.reminder.title}")
    tumour = f"**Tumour**: {s.tumour.text}."
    if s.tumour.search_text:
        tumour += f" {s.tumour.search_text}"
    lines.append(tumour)
    return [line for pair in zip(lines, [""] * len(lines), strict=True) for line in pair][:-1]


def citation(sid: str, refs: Mapping[str, Reference]) -> str:
    """A readable reference with a link, e.g. ``Hasegawa et al. (2015). Title. [doi](url)``.

    >>> citation("x", {})
    'x'
    """
    ref = refs.get(sid)
    if ref is None:
        return sid
    kept = _CITED.get(id(ref))
    if kept is not None and kept[0] is ref:
        return kept[1]
    if len(_CITED) >= _CITED_MAX:
        _CITED.clear()
    kept = _CITED[id(ref)] = (ref, _cite(ref))
    return kept[1]


#: each source's citation text by the identity of its (frozen) entry, verified on use: a
#: card cites about two dozen sources on every hook call (about 2 µs each to write out)
_CITED: dict[int, tuple[Reference, str]] = {}
_CITED_MAX = 4096


def _cite(ref: Reference) -> str:
    year = f" ({ref.year})" if ref.year else ""
    text = f"{ref.authors}{year}. {ref.title.rstrip('.')}."
    if ref.journal:
        text += f" *{ref.journal}*."
    url = f"https://doi.org/{ref.doi}" if ref.doi else ref.url
    if not url and ref.pmid:
        url = f"https://pubmed.ncbi.nlm.nih.gov/{ref.pmid}/"
    return f"{text} <{url}>" if url else text


def data_line(warnings: Sequence[object]) -> str:
    """One line saying which data was missing or not understood (empty when none).

    >>> data_line(["a", "b"])
    '2 items in the record were missing or not understood; see the end of this card.'
    """
    if not warnings:
        return ""
    n = len(warnings)
    what = "item in the record was" if n == 1 else "items in the record were"
    return f"{n} {what} missing or not understood; see the end of this card."


def _sources_block(ids: Iterable[str], refs: Mapping[str, Reference]) -> list[str]:
    chosen = sorted({s for s in ids if s != "assumption"})
    if not chosen:
        return []
    return ["", "**Sources**:", *(f"- {citation(s, refs)}" for s in chosen)]


def _detail(
    a: Assessment,
    view: AssessmentView,
    warnings: Sequence[object],
    refs: Mapping[str, Reference] | None = None,
    extra_sources: Iterable[str] = (),
    lead: Sequence[str] = (),
) -> str:
    t = a.tumour
    lines = [line for line in (data_line(warnings),) if line]
    if lines:
        lines.append("")
    lines += [*summary_lines(view), ""]
    if lead:
        lines += [*lead, ""]
    lines += [
        f"**OMS criteria**: {view.summary.oms_text}. {a.oms.explanation}".rstrip(),
        "",
    ]
    for crit in a.oms.criteria:
        mark = {True: "met", False: "not met", None: "unknown"}[crit.met]
        lines.append(f"- {crit.label or crit.id}: {mark}")
    if a.staging is not None and a.staging.summary:
        lines += ["", f"**Staging**: {a.staging.summary}"]
    if a.recommendations:
        lines += ["", "**Recommended work-up**:"]
        for r in a.recommendations:
            where = f" ({', '.join(r.regions)})" if r.regions else ""
            lines.append(f"- [{r.urgency}] {r.title or r.modality or r.kind}{where}")
    lines += _sources_block((*a.oms.sources, *t.sources, *extra_sources), refs or {})
    lines += ["", f"Knowledge base {a.knowledge_base.version}.", "", f"_{a.disclaimer}_"]
    if warnings:
        shown = [f"- {w}" for w in warnings[:10]]
        more = len(warnings) - len(shown)
        lines += ["", "**Data missing or not used**:", *shown]
        if more:
            lines.append(f"- … and {more} more")
    return "\n".join(lines)


def _suggestions(
    a: Assessment, patient_ref: str | None, terms: Terminology | None
) -> list[Suggestion]:
    out = []
    for rec in a.recommendations:
        if rec.kind not in ("imaging", "laboratory"):
            continue
        srs = service_requests(rec, patient_ref=patient_ref, terms=terms, validate=False)
        label = shorten(f"Order {rec.title or srs[0]['code']['text']}", 80)
        actions = [
            Action(
                type="create",
                description=shorten(f"Propose {sr['code']['text']}", 200),
                resource=sr,
            )
            for sr in srs
        ]
        out.append(Suggestion(label=label, isRecommended=rec.urgency == "urgent", actions=actions))
    return out


def _alerts_block(a: Assessment) -> list[str]:
    if not a.alerts:
        return []
    return ["", "**Alerts**:", *(f"- [{al.level}] {al.message}" for al in a.alerts)]


def workup_card(
    a: Assessment,
    *,
    view: AssessmentView,
    patient_ref: str | None,
    warnings: Sequence[object] = (),
    app_url: str | None = None,
    refs: Mapping[str, Reference] | None = None,
    terms: Terminology | None = None,
) -> Card | None:
    """The patient-view card, or None when neither OMS nor a tumour question is open.

    The assessment's alerts are part of this one card (its indicator is the highest alert's),
    so a chart opening shows one concise card, not one per alert.
    """
    # how loudly to show it is the pathway's (pathway.yaml phase `level`), raised by any alert
    standing = a.pathway.level if a.pathway is not None else "info"
    if standing == "none":
        return None
    level = max((standing, *(al.level for al in a.alerts)), key=_LEVEL.__getitem__, default="info")
    suggestions = _suggestions(a, patient_ref, terms)
    links = (
        [Link(label="Open the full omscds assessment", url=app_url, type="absolute")]
        if app_url
        else None
    )
    # the alerts lead (after the data line): they are why the indicator may be raised
    detail = _detail(
        a,
        view,
        warnings,
        refs,
        [s for al in a.alerts for s in al.sources],
        lead=_alerts_block(a)[1:],
    )
    return Card(
        summary=shorten(view.summary.headline),
        detail=detail,
        indicator=level,
        source=SOURCE,
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=OVERRIDE_REASONS,
        links=links,
    )


def alert_cards(a: Assessment, refs: Mapping[str, Reference] | None = None) -> list[Card]:
    """One card per alert (used when the work-up card does not apply, or on request)."""
    return [
        Card(
            summary=shorten(al.message),
            detail=al.message + "\n" + "\n".join(_sources_block(al.sources, refs or {})),
            indicator=al.level,
            source=SOURCE,
            overrideReasons=OVERRIDE_REASONS,
        )
        for al in a.alerts
    ]


def order_warning_card(
    a: Assessment,
    review: OrderReview | None,
    *,
    view: AssessmentView,
    patient_ref: str | None,
    order_ids: Sequence[str],
    warnings: Sequence[object] = (),
    refs: Mapping[str, Reference] | None = None,
    terms: Terminology | None = None,
) -> Card | None:
    """The order card for a review (``reasoning.review_orders``), or None when there is none.

    The suggestion proposes the pathway's own search-completing step (the same advice as the
    patient-view card); the card only maps the review to CDS Hooks.
    """
    if review is None:
        return None
    step = review.proposal
    rec = next((r for r in a.recommendations if r.id == step.rule), None)
    srs = service_requests(rec, patient_ref=patient_ref, terms=terms, validate=False) if rec else []
    detail = review.message
    for modality, p in review.if_negative.items():
        name = review.ordered_label if len(review.ordered) == 1 else modality.replace("_", " ")
        detail += f" A negative {name} would still leave P(tumour) {percent(p)}."
    detail += "\n\n" + _detail(a, view, warnings, refs, review.sources)
    if order_ids:
        detail += f"\n\nOrders checked: {', '.join(order_ids)}."
    return Card(
        summary=shorten(
            f"{review.ordered_label} alone will not exclude the tumour: add {review.proposal_label}"
        ),
        detail=detail,
        indicator="warning",
        source=SOURCE,
        suggestions=[
            Suggestion(
                label=shorten(f"Add {review.proposal_label}", 80),
                isRecommended=True,
                actions=[
                    Action(
                        type="create",
                        description=shorten(f"Propose {sr['code']['text']}", 200),
                        resource=sr,
                    )
                    for sr in srs
                ],
            )
        ]
        if srs
        else None,
        selectionBehavior="at-most-one" if srs else None,
        overrideReasons=OVERRIDE_REASONS,
    )
