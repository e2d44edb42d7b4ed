"""Cards from an assessment: the OMS/tumour work-up card, alert cards, and the order warning."""

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
from omscds.model import BODY_REGIONS, Assessment

__all__ = [
    "OVERRIDE_REASONS",
    "SOURCE",
    "alert_cards",
    "citation",
    "data_line",
    "order_warning_card",
    "shorten",
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
_OMS_ACTIVE = ("criteria_met", "possible")
_TUMOUR_OPEN = ("suspected", "search_incomplete", "confirmed")
_LEVEL = {"info": 0, "warning": 1, "critical": 2}
_OMS_TEXT = {
    "criteria_met": "OMS criteria met",
    "possible": "possible OMS",
    "not_met": "OMS criteria not met",
}


def shorten(text: str, limit: int = SUMMARY_MAX) -> str:
    """Cut to ``limit`` characters on a word boundary.

    >>> shorten("a b c", 3)
    'a…'
    """
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _uncovered(a: Assessment) -> list[str]:
    return [r for r in BODY_REGIONS if a.tumour.searched_regions.get(r) is None]  # type: ignore[call-overload]


def citation(sid: str, refs: Mapping[str, Reference]) -> str:
    """A readable reference with a link, e.g. ``Hasegawa et al. (2015). Title. [doi](url)``.

    >>> citation("x", {})
    'x'
    """
    ref = refs.get(sid)
    if ref is None:
        return sid
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
    warnings: Sequence[object],
    refs: Mapping[str, Reference] | None = None,
    extra_sources: Iterable[str] = (),
    lead: Sequence[str] = (),
) -> str:
    t = a.tumour
    lines = [line for line in (data_line(warnings),) if line]
    if lines:
        lines.append("")
    if lead:
        lines += [*lead, ""]
    lines += [
        f"**OMS criteria**: {a.oms.criteria_count} met — {a.oms.explanation or a.oms.status}",
        "",
    ]
    for crit in a.oms.criteria:
        mark = {True: "met", False: "not met", None: "unknown"}[crit.met]
        lines.append(f"- {crit.label or crit.id}: {mark}")
    lines += [
        "",
        f"**Tumour**: {t.status.replace('_', ' ')}; probability {t.probability:.0%} "
        f"(interval {t.interval[0]:.0%}–{t.interval[1]:.0%}, prior {t.prior:.0%}).",
    ]
    uncovered = _uncovered(a)
    if uncovered and t.status != "not_applicable":
        lines.append(f"Not yet covered by CT/MRI: {', '.join(uncovered)}.")
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
    t = a.tumour
    if a.oms.status not in _OMS_ACTIVE and t.status not in _TUMOUR_OPEN:
        return None
    level = max((al.level for al in a.alerts), key=_LEVEL.__getitem__, default="info")
    if t.status in ("suspected", "search_incomplete") and a.oms.status in _OMS_ACTIVE:
        level = max(level, "warning", key=_LEVEL.__getitem__)
    uncovered = _uncovered(a)
    summary = f"{_OMS_TEXT[a.oms.status]}: tumour {t.status.replace('_', ' ')}"
    if t.status == "search_incomplete" and uncovered:
        summary += f" ({', '.join(uncovered)} not imaged)"
    summary += f"; P(tumour) {t.probability:.0%}"
    suggestions = _suggestions(a, patient_ref, terms)
    links = (
        [Link(label="Open the full omscds assessment", url=app_url, type="absolute")]
        if app_url
        else None
    )
    # the alerts lead (after the data line): they are why the indicator may be raised
    detail = _detail(
        a, warnings, refs, [s for al in a.alerts for s in al.sources], lead=_alerts_block(a)[1:]
    )
    return Card(
        summary=shorten(summary),
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
    *,
    ordered: Sequence[str],
    patient_ref: str | None,
    order_ids: Sequence[str],
    labels: Mapping[str, str] | None = None,
    warnings: Sequence[object] = (),
    refs: Mapping[str, Reference] | None = None,
    terms: Terminology | None = None,
) -> Card | None:
    """Warn when MIBG or urine catecholamines are ordered for a child with OMS but no CT/MRI.

    Those studies never complete the tumour search (knowledge base ``modalities``:
    ``completes_search``); the suggestion creates an MRI proposal for the uncovered regions.
    """
    if a.oms.status not in _OMS_ACTIVE or a.tumour.population != "child":
        return None
    if a.tumour.status not in ("search_incomplete",):
        return None
    uncovered = _uncovered(a)
    if not uncovered:
        return None
    names = labels or {}
    what = " and ".join(sorted({names.get(m, m.replace("_", " ")) for m in ordered}))
    where = ", ".join(uncovered[:-1]) + (" and " if len(uncovered) > 1 else "") + uncovered[-1]
    srs = service_requests(
        None,
        patient_ref=patient_ref,
        terms=terms,
        modality="mri",
        regions=uncovered,
        text=f"MRI of {where}",
        note="Cross-sectional imaging is needed to complete the tumour search in OMS.",
        validate=False,
    )
    detail = (
        f"{what} cannot complete the tumour search in a child with "
        f"{_OMS_TEXT[a.oms.status]}. Cross-sectional imaging (CT/MRI) of {where} has not "
        "been done."
    )
    for nt in a.tumour.next_tests:
        if nt.modality in ordered:
            detail += (
                f" A negative {names.get(nt.modality, nt.modality)} would still leave P(tumour) "
                f"{nt.probability_if_negative:.0%}."
            )
    detail += "\n\n" + _detail(a, warnings, refs)
    if order_ids:
        detail += f"\n\nOrders checked: {', '.join(order_ids)}."
    return Card(
        summary=shorten(f"{what} alone will not exclude the tumour: add MRI of {where}"),
        detail=detail,
        indicator="warning",
        source=SOURCE,
        suggestions=[
            Suggestion(
                label=f"Add MRI of {where}",
                isRecommended=True,
                actions=[
                    Action(type="create", description=f"Propose {sr['code']['text']}", resource=sr)
                    for sr in srs
                ],
            )
        ],
        selectionBehavior="at-most-one",
        overrideReasons=OVERRIDE_REASONS,
    )
