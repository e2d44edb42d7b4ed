"""The view of an assessment that every face renders (text, Markdown, HTML/PDF, brief, CDS card).

A layer of its own (``interop | reports | storage -> view -> reasoning``), so that the CDS cards
(interop) and the reports draw the same summary. Pure functions and frozen values.
"""

from __future__ import annotations

from omscds.view.build import build_view, next_action, reminder_step, shows_probability
from omscds.view.citations import CitationIndex, Reference, reference_text
from omscds.view.model import (
    Action,
    AssessmentView,
    Inputs,
    InputTest,
    Meta,
    ParentsPage,
    RegionState,
    Summary,
    TumourLine,
)
from omscds.view.text import N_, WORDS, Translate, first_sentence, format_age, percent, share, word

__all__ = [
    "N_",
    "WORDS",
    "Action",
    "AssessmentView",
    "CitationIndex",
    "InputTest",
    "Inputs",
    "Meta",
    "ParentsPage",
    "Reference",
    "RegionState",
    "Summary",
    "Translate",
    "TumourLine",
    "build_view",
    "first_sentence",
    "format_age",
    "next_action",
    "percent",
    "reference_text",
    "reminder_step",
    "share",
    "shows_probability",
    "word",
]
