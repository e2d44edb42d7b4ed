"""OMS diagnostic criteria: 3 of 4 (NINDS; usual attribution Matthay 2005)."""

from __future__ import annotations

from omscds.knowledge import KnowledgeBase
from omscds.model import CriterionResult, OmsResult
from omscds.reasoning.coverage import is_tumour_positive, searched_regions
from omscds.reasoning.findings import ResolvedCase

__all__ = ["NEUROBLASTIC", "evaluate_criteria", "oms_status"]

NEUROBLASTIC = frozenset({"neuroblastoma", "ganglioneuroblastoma", "ganglioneuroma"})


def oms_status(met: int, unknown: int, needed: int = 3, possible_at: int = 2) -> str:
    """Classify a 3-of-4 count.

    ``criteria_met`` at ``needed`` or more; ``possible`` when at least ``possible_at`` are met
    and ``needed`` is still reachable given the unknowns; else ``not_met``.

    >>> oms_status(3, 0)
    'criteria_met'
    >>> oms_status(2, 1)
    'possible'
    >>> oms_status(2, 0)
    'not_met'
    >>> oms_status(1, 3)
    'not_met'
    """
    if met >= needed:
        return "criteria_met"
    if met >= possible_at and met + unknown >= needed:
        return "possible"
    return "not_met"


def evaluate_criteria(rc: ResolvedCase, kb: KnowledgeBase) -> OmsResult:
    """Each criterion met / not met / unknown (``None``) with the case fields behind it."""
    results: list[CriterionResult] = []
    sources: list[str] = []
    adult = rc.case.age_months >= kb.param("adult_age_months")
    for crit in kb.criteria:
        met: bool | None
        evidence: list[str] = []
        label = crit.label_adult if adult and crit.label_adult else crit.label
        if crit.histology:
            accepted = crit.histology_adult if adult and crit.histology_adult else crit.histology
            met, evidence = _histology(rc, kb, accepted)
        else:
            states = [rc.state(f) for f in crit.any_of]
            present = [f for f in crit.any_of if rc.present(f)]
            if present:
                met = True
                for f in present:
                    evidence.extend(rc.evidence.get(f, (f"findings.{f}",)))
            elif states and all(s == "absent" for s in states):
                met = False
                for f in crit.any_of:
                    evidence.extend(rc.evidence.get(f, ()))
            else:
                met = None
        results.append(
            CriterionResult.build(
                id=crit.id, label=label, met=met, evidence=tuple(evidence), sources=crit.source
            )
        )
        sources.extend(s for s in crit.source if s not in sources)
    n_met = sum(1 for r in results if r.met is True)
    n_unknown = sum(1 for r in results if r.met is None)
    needed = int(kb.param("criteria_needed"))
    status = oms_status(n_met, n_unknown, needed, int(kb.param("criteria_possible")))
    explanation = (
        f"{n_met} of {len(results)} criteria met, {n_unknown} unknown; OMS needs {needed}. "
        + (
            "'possible' is omscds's own tier (at least 2 met and 3 still reachable); "
            "no published source defines it."
            if status == "possible"
            else ""
        )
    ).strip()
    return OmsResult(
        status=status,
        criteria_count=n_met,
        criteria=tuple(results),
        unknown_count=n_unknown,
        explanation=explanation,
        sources=tuple(sources),
    )


def _histology(
    rc: ResolvedCase, kb: KnowledgeBase, accepted: tuple[str, ...]
) -> tuple[bool | None, list[str]]:
    """Histology of a neuroblastic tumour meets the criterion; a scan alone leaves it unknown.

    The criterion is 'not met' only when neck, chest, abdomen and pelvis were all covered by
    CT/MRI and nothing was positive; tumours can still surface later, which the tumour section
    says separately.
    """
    for i, t in enumerate(rc.case.tests):
        if t.histology in accepted and t.result != "negative":
            return True, [f"tests[{i}].histology"]
    if any(is_tumour_positive(t, kb) for t in rc.case.tests):
        return None, []
    covered = searched_regions(rc.case, kb)
    if all(covered.values()):
        paths = [
            f"tests[{i}]"
            for i, t in enumerate(rc.case.tests)
            if kb.modalities[t.modality].completes_search and t.result == "negative"
        ]
        return False, paths
    return None, []
