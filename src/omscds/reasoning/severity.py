"""Severity: the Mitchell-Pike OMS rating scale (Mitchell 2002), items 0-3, total 0-18."""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.model import Case, SeverityResult

__all__ = ["score_severity", "total_score"]


def total_score(items: dict[str, int], item_ids: tuple[str, ...]) -> int | None:
    """Sum of the item scores, or ``None`` unless every item is scored.

    >>> total_score({"stance": 2, "gait": 3}, ("stance", "gait"))
    5
    >>> total_score({"stance": 2}, ("stance", "gait")) is None
    True
    """
    if any(i not in items for i in item_ids):
        return None
    return sum(items[i] for i in item_ids)


def score_severity(case: Case, kb: KnowledgeBase) -> SeverityResult | None:
    """Validate and total a severity record (items were range-checked in ``resolve``)."""
    if case.severity is None:
        return None
    scale = kb.severity_scales[case.severity.scale]
    ids = tuple(item.id for item in scale.items)
    total = total_score(case.severity.items, ids)
    missing = tuple(i for i in ids if i not in case.severity.items)
    note = ""
    if total is None and case.severity.total is not None and not case.severity.items:
        total = case.severity.total
        note = "total as given (no item scores)"
    elif total is None:
        partial = sum(case.severity.items.values())
        note = f"incomplete: {len(missing)} item(s) not scored; partial sum {partial}"
    elif case.severity.total is not None and case.severity.total != total:
        note = f"given total {case.severity.total} differs from the item sum {total}; item sum used"
    confirmed = all(item.descriptors_confirmed for item in scale.items)
    if not confirmed:
        note = (note + "; " if note else "") + (
            "item descriptors are not confirmed against the primary source"
        )
    return SeverityResult(
        scale=scale.id,
        label=scale.label,
        total=total,
        max=scale.total_max,
        items=dict(case.severity.items),
        missing_items=missing,
        descriptors_confirmed=confirmed,
        note=note,
        sources=scale.source,
    )
