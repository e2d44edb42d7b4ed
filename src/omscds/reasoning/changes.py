"""What changed in the advice between two assessments of the same visit (a knowledge update).

The one question a new knowledge-base version raises for a clinic is which patients would now
be advised differently. The advice is the pathway phase, the tumour status, the tumour
probability (a change of at least ``threshold``, absolute) and the recommendations (by rule id).
Both sides are assessment documents as stored (JSON), so an assessment stored by an older
version, without ``pathway``, compares on what it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AdviceChange", "compare_advice"]


@dataclass(frozen=True)
class AdviceChange:
    """The differences in advice; ``changed`` is False when there are none."""

    phase: tuple[str | None, str | None]
    tumour_status: tuple[str | None, str | None]
    probability: tuple[float | None, float | None]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    #: one short line per difference, e.g. ``"phase: search -> found"``
    what: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.what)

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "phase": list(self.phase),
            "tumour_status": list(self.tumour_status),
            "probability": list(self.probability),
            "recommendations_added": list(self.added),
            "recommendations_removed": list(self.removed),
            "what": list(self.what),
        }


def _get(doc: Mapping[str, Any], *path: str) -> Any:
    node: Any = doc
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _rules(doc: Mapping[str, Any]) -> set[str]:
    recs = doc.get("recommendations")
    if not isinstance(recs, list):
        return set()
    return {str(r["id"]) for r in recs if isinstance(r, Mapping) and "id" in r}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def compare_advice(
    before: Mapping[str, Any], after: Mapping[str, Any], threshold: float
) -> AdviceChange:
    """Compare two stored assessment documents.

    >>> a = {"pathway": {"phase": "search"}, "tumour": {"status": "search_incomplete",
    ...      "probability": 0.40}, "recommendations": [{"id": "body_imaging"}]}
    >>> b = {"pathway": {"phase": "search"}, "tumour": {"status": "search_incomplete",
    ...      "probability": 0.43}, "recommendations": [{"id": "body_imaging"}, {"id": "eeg"}]}
    >>> compare_advice(a, b, 0.05).what
    ('recommendations added: eeg',)
    >>> compare_advice(a, a, 0.05).changed
    False
    """
    what: list[str] = []
    phase = (_get(before, "pathway", "phase"), _get(after, "pathway", "phase"))
    if phase[0] != phase[1]:
        what.append(f"phase: {phase[0] or '(none)'} -> {phase[1] or '(none)'}")
    status = (_get(before, "tumour", "status"), _get(after, "tumour", "status"))
    if status[0] != status[1]:
        what.append(f"tumour: {status[0] or '(none)'} -> {status[1] or '(none)'}")
    p = (
        _number(_get(before, "tumour", "probability")),
        _number(_get(after, "tumour", "probability")),
    )
    if p[0] is not None and p[1] is not None:
        if abs(p[1] - p[0]) >= threshold - 1e-9:  # 0.45 - 0.40 is 0.0499999... in floats
            what.append(f"P(tumour): {p[0]:.0%} -> {p[1]:.0%}")
    elif p[0] != p[1]:
        what.append("P(tumour): " + " -> ".join("none" if v is None else f"{v:.0%}" for v in p))
    old, new = _rules(before), _rules(after)
    added, removed = tuple(sorted(new - old)), tuple(sorted(old - new))
    if added:
        what.append("recommendations added: " + ", ".join(added))
    if removed:
        what.append("recommendations removed: " + ", ".join(removed))
    return AdviceChange(
        phase=phase,
        tumour_status=status,
        probability=p,
        added=added,
        removed=removed,
        what=tuple(what),
    )
