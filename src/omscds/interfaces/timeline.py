"""The severity timeline of a registry patient as a plot description (shared by CLI and API)."""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.reports.timeline import Course, TimelinePlot
from omscds.storage import Agent, TimelineData

__all__ = ["timeline_plot"]


def timeline_plot(data: TimelineData, kb: KnowledgeBase, title: str) -> TimelinePlot:
    """Severity totals, treatment courses (labelled) and relapses, scaled to the KB's scale."""
    scale = kb.severity_scales.get("mitchell_pike")
    return TimelinePlot(
        title=title,
        points=data.points,
        courses=[Course(Agent(a).label, s, e) for a, s, e in data.treatments],
        relapses=data.relapses,
        scale_label=f"{scale.label} total" if scale else "Severity total",
        y_max=scale.total_max if scale else None,
    )
