"""One line per assessment: the case, OMS status, where the tumour search stands, the next action.

What ``make demo`` and ``omscds assess -f brief`` print. The next action is the pathway's first
step ordered now that belongs to the phase (not one of the branch's standing steps such as the
immunotherapy referral, which every line of a child with OMS would otherwise repeat).
"""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment, PathwayStep
from omscds.reports.summary import _pct

__all__ = ["brief_line", "next_action"]

_OMS = {"criteria_met": "OMS criteria met", "possible": "possible OMS", "not_met": "OMS not met"}


def next_action(a: Assessment, kb: KnowledgeBase) -> PathwayStep | None:
    """The phase's first step ordered now (else the first step of any kind)."""
    if a.pathway is None or not a.pathway.steps:
        return None
    standing = set(kb.pathway.always.get(a.pathway.branch, ())) if kb.pathway else set()
    now = [s for s in a.pathway.steps if s.status == "now"]
    own = [s for s in now if s.rule not in standing]
    return (own or now or list(a.pathway.steps))[0]


def brief_line(a: Assessment, kb: KnowledgeBase, name: str | None = None) -> str:
    """``case: OMS status | tumour status, P (interval) | phase | next: action``."""
    t = a.tumour
    tumour = f"tumour {t.status.replace('_', ' ')}"
    if t.status != "not_applicable":
        tumour += f", P {_pct(t.probability)} ({_pct(t.interval[0])}–{_pct(t.interval[1])})"
    parts = [f"{name or a.case_id or 'case'}: {_OMS.get(a.oms.status, a.oms.status)}", tumour]
    if a.pathway is not None:
        parts.append(f"phase {a.pathway.phase}")
    step = next_action(a, kb)
    if step is not None:
        where = f" ({', '.join(step.regions)})" if step.regions else ""
        if_ = f"{step.condition}: " if step.status == "conditional" and step.condition else ""
        parts.append(f"next: {if_}{step.title or step.rule}{where} [{step.urgency}]")
    return " | ".join(parts)
