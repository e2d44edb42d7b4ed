"""Cards from an assessment: the OMS/tumour work-up card, alert cards, and the order warning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omscds.interop.cdshooks.models import Action, Card, Coding, Link, Source, Suggestion
from omscds.interop.fhir import codes as c
from omscds.interop.fhir.outbound import service_request
from omscds.model import BODY_REGIONS, Assessment

__all__ = [
    "OVERRIDE_REASONS",
    "SOURCE",
    "alert_cards",
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


def shorten(text: str, limit: int = 140) -> str:
    """Cut to ``limit`` characters on a word boundary.

    >>> shorten("a b c", 3)
    'a…'
    """
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _uncovered(a: Assessment) -> list[str]:
    return [r for r in BODY_REGIONS if a.tumour.searched_regions.get(r) is None]  # type: ignore[call-overload]


def _detail(a: Assessment, warnings: Sequence[object]) -> str:
    t = a.tumour
    lines = [
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
    if warnings:
        lines += ["", "**Data not used**: " + "; ".join(str(w) for w in warnings[:5])]
    sources = sorted({s for s in (*a.oms.sources, *t.sources) if s != "assumption"})
    lines += [
        "",
        f"Sources: {', '.join(sources)}. Knowledge base {a.knowledge_base.version}.",
        "",
        f"_{a.disclaimer}_",
    ]
    return "\n".join(lines)


def workup_card(
    a: Assessment,
    *,
    patient_ref: str | None,
    warnings: Sequence[object] = (),
    app_url: str | None = None,
) -> Card | None:
    """The patient-view card, or None when neither OMS nor a tumour question is open."""
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
    suggestions = []
    for rec in a.recommendations:
        if rec.kind not in ("imaging", "laboratory"):
            continue
        sr = service_request(rec, patient_ref=patient_ref, validate=False)
        label = shorten(f"Order {sr['code']['text']}", 80)
        suggestions.append(
            Suggestion(
                label=label,
                isRecommended=rec.urgency == "urgent",
                actions=[Action(type="create", description=label, resource=sr)],
            )
        )
    links = [Link(label="Open the full omscds assessment", url=app_url, type="absolute")]
    return Card(
        summary=shorten(summary),
        detail=_detail(a, warnings),
        indicator=level,
        source=SOURCE,
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=OVERRIDE_REASONS,
        links=links if app_url else None,
    )


def alert_cards(a: Assessment) -> list[Card]:
    return [
        Card(
            summary=shorten(al.message),
            detail=al.message + f"\n\nSources: {', '.join(al.sources)}.",
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
    sr = service_request(
        None,
        patient_ref=patient_ref,
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
    detail += "\n\n" + _detail(a, ())
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
                actions=[Action(type="create", description=f"Propose MRI of {where}", resource=sr)],
            )
        ],
        selectionBehavior="at-most-one",
        overrideReasons=OVERRIDE_REASONS,
    )
