"""One line per assessment: the case, OMS status, where the tumour search stands, the next action.

What ``make demo`` and ``omscds assess -f brief`` print, drawn from the view's summary
(``omscds.view``): the next action is the pathway's first step ordered now that belongs to the
phase (not one of the branch's standing steps such as the immunotherapy referral, which every
line of a child with OMS would otherwise repeat).
"""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment
from omscds.view import build_view, next_action, percent

__all__ = ["brief_line", "next_action"]


def brief_line(a: Assessment, kb: KnowledgeBase, name: str | None = None) -> str:
    """``case: OMS status | tumour status, P (interval) | phase | next: action``."""
    s = build_view(a, kb).summary
    t = s.tumour
    tumour = f"tumour {t.status_label}"
    if t.probability is not None and t.interval is not None:
        tumour += (
            f", P {percent(t.probability)} ({percent(t.interval[0])} to {percent(t.interval[1])})"
        )
    parts = [f"{name or a.case_id or 'case'}: {s.oms_short}", tumour]
    if s.phase is not None:
        parts.append(f"phase {s.phase}")
    na = s.next_action
    if na is not None:
        where = f" ({', '.join(na.regions)})" if na.regions else ""
        if_ = f"{na.when}: " if na.status == "conditional" else ""
        parts.append(f"next: {if_}{na.title}{where} [{na.urgency_label}]")
    return " | ".join(parts)
