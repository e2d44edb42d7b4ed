"""The starter vocabulary of treatment courses a registry records.

Context only, not advice: the agents are those the clinical notes list as used for OMS and its
tumour (shared/knowledge/clinical-notes.md §8: steroids/ACTH, IVIG, escalation with rituximab or
cyclophosphamide, dexamethasone pulses, tumour resection and chemotherapy). No dose or duration is
implied; the registry stores what the clinician recorded.
"""

from __future__ import annotations

from enum import StrEnum

from omscds.errors import InputError

__all__ = ["AGENTS", "Agent", "parse_agent"]


class Agent(StrEnum):
    """A treatment agent or procedure (clinical-notes.md §8)."""

    acth = "acth"
    corticosteroids = "corticosteroids"
    dexamethasone_pulses = "dexamethasone_pulses"
    ivig = "ivig"
    rituximab = "rituximab"
    cyclophosphamide = "cyclophosphamide"
    tumour_resection = "tumour_resection"
    chemotherapy = "chemotherapy"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_procedure(self) -> bool:
        """A procedure (FHIR Procedure) rather than a medication course."""
        return self is Agent.tumour_resection


_LABELS: dict[Agent, str] = {
    Agent.acth: "ACTH",
    Agent.corticosteroids: "Corticosteroids",
    Agent.dexamethasone_pulses: "Dexamethasone pulses",
    Agent.ivig: "IVIG",
    Agent.rituximab: "Rituximab",
    Agent.cyclophosphamide: "Cyclophosphamide",
    Agent.tumour_resection: "Tumour resection",
    Agent.chemotherapy: "Chemotherapy",
}

AGENTS: tuple[str, ...] = tuple(a.value for a in Agent)


def parse_agent(value: str, *, path: str = "agent") -> Agent:
    """Accept an agent id or its label, case-insensitively.

    >>> parse_agent("IVIG").value
    'ivig'
    >>> parse_agent("Dexamethasone pulses").value
    'dexamethasone_pulses'
    """
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    for agent in Agent:
        if key in (agent.value, agent.label.lower().replace(" ", "_")):
            return agent
    raise InputError(f"{value!r} is not one of {', '.join(AGENTS)}", path=path)
