"""Orders reviewed against the pathway (``pathway.yaml: order_review``).

An order for a test that cannot complete the tumour search (MIBG, urine catecholamines,
ultrasound, chest X-ray), placed while the search is open, is answered with the pathway's own
search-completing step: the advice on an order is the advice of the pathway, never a second
rule set. When the pathway orders no such step now (a mimic's explaining test goes first, the
search is complete, the tumour is found), there is nothing to add and no review is returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, OrderReview, PathwayStep

__all__ = ["review_orders", "reviewed_modalities"]


def reviewed_modalities(kb: KnowledgeBase) -> frozenset[str]:
    """The modalities whose orders are reviewed (empty when the pathway has no review)."""
    review = kb.pathway.order_review if kb.pathway is not None else None
    return frozenset(review.modalities) if review is not None else frozenset()


def _where(regions: Iterable[str]) -> str:
    """``a, b and c``.

    >>> _where(["neck", "chest", "pelvis"])
    'neck, chest and pelvis'
    """
    names = list(regions)
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _completing_step(a: Assessment, kb: KnowledgeBase) -> PathwayStep | None:
    assert a.pathway is not None
    for step in a.pathway.steps:
        m = kb.modalities.get(step.modality or "")
        if step.status == "now" and m is not None and m.completes_search:
            return step
    return None


def review_orders(
    a: Assessment,
    ordered: Iterable[str],
    kb: KnowledgeBase,
    labels: Mapping[str, str] | None = None,
) -> OrderReview | None:
    """The review of ``ordered`` modalities for this assessment, or None when nothing applies.

    ``labels`` overrides the modality labels used in the message (default: the knowledge base's).
    """
    review = kb.pathway.order_review if kb.pathway is not None else None
    if review is None or a.pathway is None:
        return None
    if a.pathway.phase not in review.phases or a.pathway.branch not in review.populations:
        return None
    checked = sorted(set(ordered) & set(review.modalities))
    if not checked or not a.pathway.uncovered:
        return None
    proposal = _completing_step(a, kb)
    if proposal is None:
        return None
    names = dict(labels or {})

    def label(m: str) -> str:
        return names.get(m) or (kb.modalities[m].label if m in kb.modalities else m)

    what = " and ".join(sorted({label(m) for m in checked}))
    message = " ".join(review.message.split()).format(
        ordered=what, where=_where(a.pathway.uncovered)
    )
    if_negative = {
        nt.modality: nt.probability_if_negative
        for nt in a.tumour.next_tests
        if nt.modality in checked
    }
    return OrderReview.build(
        ordered=tuple(checked),
        ordered_label=what,
        proposal_label=f"{label(proposal.modality or '')} of {_where(proposal.regions)}",
        message=message,
        proposal=proposal,
        uncovered=a.pathway.uncovered,
        if_negative=if_negative,
        sources=tuple(dict.fromkeys((*review.source, *proposal.sources))),
    )
