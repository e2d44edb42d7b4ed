"""The severity timeline of a registry patient (shared by the CLI, the API and the web page).

One description (``timeline_plot``) and one drawing (``reports.timeline``) for every face:
``timeline_svg`` is what the web page inlines, ``draw_timeline`` what the CLI and the API write.
"""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.reports.timeline import Course, TimelinePlot, Translate, timeline_svg
from omscds.storage import Agent, TimelineData

__all__ = ["patient_timeline_svg", "timeline_plot"]


def _same(s: str) -> str:
    return s


def timeline_plot(data: TimelineData, kb: KnowledgeBase, title: str) -> TimelinePlot:
    """Severity totals (None: not fully scored), treatment courses (labelled) and relapses,
    on the knowledge base's scale (its maximum is the top of the axis)."""
    scale = kb.severity_scales.get("mitchell_pike")
    return TimelinePlot(
        title=title,
        points=data.points,
        courses=[Course(Agent(a).label, s, e) for a, s, e in data.treatments],
        relapses=data.relapses,
        scale_label=f"{scale.label} total" if scale else "Severity total",
        y_max=scale.total_max if scale else None,
    )


def patient_timeline_svg(
    data: TimelineData,
    kb: KnowledgeBase,
    title: str,
    *,
    tr: Translate = _same,
    id_prefix: str = "sev",
) -> str:
    """The timeline as inline SVG for the web page (the same drawing as the CLI's files)."""
    return timeline_svg(timeline_plot(data, kb, title), tr=tr, id_prefix=id_prefix)
