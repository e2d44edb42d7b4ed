"""Alerts: cited warnings fired by the case's facts (e.g. a negative MIBG does not exclude)."""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.model import Alert
from omscds.reasoning.facts import Facts, rule_fires

__all__ = ["LEVEL_ORDER", "evaluate_alerts"]

LEVEL_ORDER = {"critical": 0, "warning": 1, "info": 2}


def evaluate_alerts(facts: Facts, kb: KnowledgeBase) -> tuple[Alert, ...]:
    out = [
        Alert(id=a.id, level=a.level, message=a.message.strip(), sources=a.source)
        for a in kb.alerts
        if rule_fires(facts, a.when_all, a.when_any, a.when_none)
    ]
    out.sort(key=lambda a: (LEVEL_ORDER[a.level], a.id))
    return tuple(out)
