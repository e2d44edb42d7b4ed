"""Alerts: cited warnings fired by the case's facts (e.g. a negative MIBG does not exclude)."""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.knowledge.schema import AlertRule
from omscds.model import Alert
from omscds.reasoning.facts import Facts, rule_fires

__all__ = ["LEVEL_ORDER", "evaluate_alerts"]

LEVEL_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _compiled(kb: KnowledgeBase) -> tuple[tuple[AlertRule, Alert], ...]:
    return tuple(
        (a, Alert(id=a.id, level=a.level, message=a.message.strip(), sources=a.source))
        for a in kb.alerts
    )


def evaluate_alerts(facts: Facts, kb: KnowledgeBase) -> tuple[Alert, ...]:
    """The alerts whose conditions hold, most severe first."""
    out = [
        alert
        for rule, alert in kb.memo("alerts.compiled", lambda: _compiled(kb))
        if rule_fires(facts, rule.when_all, rule.when_any, rule.when_none)
    ]
    out.sort(key=lambda a: (LEVEL_ORDER[a.level], a.id))
    return tuple(out)
