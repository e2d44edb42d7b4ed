"""Rendering of assessments: Markdown/text now; HTML and PDF reports build on the same outline."""

from __future__ import annotations

from omscds.reports.summary import Line, Section, outline, render_markdown

__all__ = ["Line", "Section", "outline", "render_markdown"]
