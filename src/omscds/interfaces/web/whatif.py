"""The what-if: the case with one planned study (one of ``tumour.next_tests``) appended as if
its result were known. Pure: the caller re-assesses the returned case with the same engine."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase
from omscds.model import Assessment

__all__ = ["WHATIF_RESULTS", "Hypothetical", "hypothetical_case", "hypothetical_of"]

WHATIF_RESULTS = ("negative", "positive")


@dataclass(frozen=True)
class Hypothetical:
    """What a hypothetical view shows on top of the actual case: the study (a label), the
    assumed result, and the index of the appended test in the hypothetical case."""

    study: str
    result: str
    test: int


def hypothetical_of(case: dict[str, Any], hypo: dict[str, Any], study: str) -> Hypothetical:
    """The label of ``hypo`` (built by :func:`hypothetical_case` from ``case``)."""
    appended = (hypo.get("tests") or [])[-1]
    return Hypothetical(study, str(appended["result"]), len(case.get("tests") or []))


def hypothetical_case(
    case: dict[str, Any], actual: Assessment, index: str, result: str, kb: KnowledgeBase
) -> tuple[dict[str, Any], str]:
    """Return (the case with the hypothetical study appended, a label of the study).

    ``index`` picks one of ``actual.tumour.next_tests``; ``result`` is negative or positive.
    """
    if result not in WHATIF_RESULTS:
        raise InputError(f"{result!r} is not one of {', '.join(WHATIF_RESULTS)}", path="result")
    try:
        i = int(index)
    except ValueError:
        raise InputError(f"{index!r} is not a number", path="next_test") from None
    options = actual.tumour.next_tests
    if not 0 <= i < len(options):
        raise InputError(
            f"no planned study number {i} (this assessment has {len(options)})", path="next_test"
        )
    nt = options[i]
    hypo = copy.deepcopy(case)
    test = {
        "modality": nt.modality,
        "regions": list(nt.regions),
        "result": result,
        "note": "hypothetical (what-if), not a real result",
        "extensions": {"whatif": True},
    }
    hypo["tests"] = [*(hypo.get("tests") or []), test]
    mod = kb.modalities.get(nt.modality)
    label = f"{mod.label if mod else nt.modality} ({', '.join(nt.regions)})"
    return hypo, label
