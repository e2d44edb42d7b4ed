"""The PNS-Care score of the 2021 paraneoplastic neurological syndrome criteria (Graus 2021),
for any age (``pns_care.yaml``).

Score = phenotype points + antibody points + cancer points (the cancer level falls from 1 to 0
after 2 years of follow-up without a cancer); the level is read from the thresholds. Every
input the case leaves open is tried, so ``level`` is given only when no open input can change
it; ``assumption_parts`` names the parts that rest on values the notes mark UNCONFIRMED.

>>> _level_of(6, ((8, "definite"), (6, "probable"), (4, "possible"), (0, "non_pns")))
'probable'
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase
from omscds.knowledge.schema import PnsCare, Points
from omscds.model import Case, OmsResult, PnsCareResult, StagingNote
from omscds.reasoning.criteria import NEUROBLASTIC
from omscds.reasoning.facts import Facts

__all__ = ["score_pns_care"]

_WEEKS_PER_MONTH = 52 / 12


def _level_of(total: int, levels: Iterable[tuple[int, str]]) -> str:
    return next(name for low, name in levels if total >= low)


def _phenotypes(case: Case, oms: OmsResult) -> tuple[set[str], str]:
    given = case.paraneoplastic.phenotype if case.paraneoplastic else None
    if given is not None:
        return {given}, f"phenotype given: {given.replace('_', '-')}"
    met = {c.id: c.met for c in oms.criteria}
    if met.get("opsoclonus") and met.get("myoclonus_ataxia"):
        return {"high_risk"}, "opsoclonus-myoclonus (a high-risk phenotype)"
    if oms.status in ("criteria_met", "possible"):
        return {
            "high_risk",
            "not_related",
        }, "OMS not yet established (opsoclonus with myoclonus or ataxia)"
    return {"not_related"}, "no paraneoplastic phenotype recognised"


def _antibodies(case: Case, pc: PnsCare, facts: Facts) -> tuple[set[str], str, bool]:
    """Antibody risk classes still possible, a description, and whether it was tested."""
    given = case.paraneoplastic.antibody_risk if case.paraneoplastic else None
    if given is not None:
        return {given}, f"antibody class given: {given}", True
    named = [a for a in pc.antibodies if a.id in facts]
    if named:
        best = "high" if any(a.risk == "high" for a in named) else named[0].risk
        return {best}, ", ".join(a.label for a in named) + f" ({best}-risk)", True
    tested = [
        t for t in case.tests if t.modality == "onconeural_antibodies" and t.result != "pending"
    ]
    if tested and all(t.result == "negative" for t in tested):
        return {"negative"}, "onconeural antibodies negative", True
    if tested:
        return {"negative", "intermediate", "high"}, "antibody result not coded", True
    return {"negative"}, "onconeural antibodies not tested (scores 0)", False


def _cancers(case: Case, pc: PnsCare, facts: Facts, phenotype: str) -> tuple[set[str], str]:
    p = case.paraneoplastic
    if p is not None and p.cancer is not None:
        if p.cancer == "not_consistent":
            return ({"inconsistent_antigen"} if p.antigen_expression else {"none"}), (
                "a cancer not consistent with the syndrome"
                + (" with antigen expression" if p.antigen_expression else "")
            )
        return (
            {"consistent"} if p.cancer == "consistent" else {"none"}
        ), f"cancer given: {p.cancer}"
    consistent = {c for cc in pc.consistent_cancers if cc.id == phenotype for c in cc.cancers}
    # any histology ever counts (a tumour resected before a relapse is still the syndrome's
    # cancer), not only the tests of a re-opened search
    ever = any(t.histology in NEUROBLASTIC and t.result != "negative" for t in case.tests)
    if "histology_neuroblastic" in facts or ever:
        if "neuroblastic" in consistent:
            return {"consistent"}, "neuroblastic tumour on histology (consistent with OMS)"
        return {"consistent", "none"}, "neuroblastic tumour on histology"
    if "histology_confirmed" in facts:
        return {
            "consistent",
            "none",
            "inconsistent_antigen",
        }, "a cancer on histology (type not coded)"
    if "tumour_seen" in facts or "study_positive" in facts:
        return {"consistent", "none"}, "a tumour is seen but not yet proven"
    return {"none"}, "no cancer found"


def _follow_up(case: Case, pc: PnsCare) -> tuple[set[bool], str]:
    """Whether follow-up has reached the window (True), as the set of values still possible."""
    p = case.paraneoplastic
    months = p.follow_up_months if p is not None else None
    how = "follow-up given"
    if months is None and case.history.symptom_duration_weeks is not None:
        months = case.history.symptom_duration_weeks / _WEEKS_PER_MONTH
        how = "follow-up taken as the symptom duration"
    window = pc.follow_up_window_months.months
    if months is None:
        return {False, True}, "follow-up time not known"
    return {months >= window}, f"{how}: {months:.1f} months"


def _points(table: tuple[Points, ...]) -> dict[str, Points]:
    return {p.id: p for p in table}


@dataclass(frozen=True)
class _Tables:
    """What a score reads from ``pns_care.yaml`` on every call, worked out once per knowledge
    base: the point tables by id, the levels' thresholds and order, the notes as output (they
    are frozen, so every result can share them)."""

    phenotype: dict[str, Points]
    antibody: dict[str, Points]
    cancer: dict[str, Points]
    levels: tuple[tuple[int, str], ...]
    order: list[str]
    notes: tuple[StagingNote, ...]

    @classmethod
    def of(cls, pc: PnsCare) -> _Tables:
        return cls(
            _points(pc.phenotype_points),
            _points(pc.antibody_points),
            _points(pc.cancer_points),
            tuple((lv.min, lv.id) for lv in pc.levels),
            [str(lv.id) for lv in pc.levels],
            tuple(
                StagingNote.build(
                    id=n.id, text=n.text, sources=n.source, assumption=n.is_assumption
                )
                for n in pc.notes
            ),
        )


def score_pns_care(
    case: Case, oms: OmsResult, facts: Facts, kb: KnowledgeBase
) -> PnsCareResult | None:
    """The PNS-Care score (None without pns_care.yaml, or with no paraneoplastic question)."""
    pc = kb.pns_care
    if pc is None:
        return None
    if case.paraneoplastic is None and oms.status == "not_met":
        return None
    phen_opts, phen_text = _phenotypes(case, oms)
    ab_opts, ab_text, tested = _antibodies(case, pc, facts)
    t = kb.memo("pns_care.tables", lambda: _Tables.of(pc))
    phen_pts, ab_pts, ca_pts, levels = t.phenotype, t.antibody, t.cancer, t.levels
    totals: dict[tuple[str, str, str], int] = {}
    used: dict[tuple[str, str, str], tuple[Points, Points, Points]] = {}
    window_opts, window_text = _follow_up(case, pc)
    cancer_text = ""
    for phen in sorted(phen_opts):
        ca_opts, cancer_text = _cancers(case, pc, facts, "oms" if phen == "high_risk" else phen)
        for ab, ca, late in itertools.product(
            sorted(ab_opts), sorted(ca_opts), sorted(window_opts)
        ):
            ca_id = ca if ca != "none" else ("none_over_window" if late else "none_under_window")
            row = (phen_pts[phen], ab_pts[ab], ca_pts[ca_id])
            key = (phen, ab, ca_id)
            totals[key] = sum(p.points for p in row)
            used[key] = row

    # definite needs a high- or intermediate-risk antibody, except in OMS (Graus 2021 abstract)
    def level(key: tuple[str, str, str]) -> str:
        lv = _level_of(totals[key], levels)
        if lv == "definite" and key[1] == "negative" and key[0] != "high_risk":
            return "probable"
        return lv

    possible = sorted({level(k) for k in totals}, key=t.order.index)
    values = sorted(set(totals.values()))
    missing = []
    if len(phen_opts) > 1:
        missing.append("the phenotype (OMS criteria not yet met)")
    if len(ab_opts) > 1:
        missing.append("the antibody class")
    if len({k[2] for k in totals}) > 1:
        missing.append(
            "whether a cancer is proven and consistent"
            if len(window_opts) == 1
            else "whether a cancer is proven, and the follow-up time (the 2-year window)"
        )
    if not tested:
        missing.append("onconeural antibodies not tested: a high-risk antibody would add 3 points")
    single = next(iter(totals)) if len(totals) == 1 else None
    parts: tuple[Points, ...] = used[single] if single else ()
    assumed = sorted(
        {p.label for ps in used.values() for p in ps if p.is_assumption}
        | {lv.label for lv in pc.levels if lv.is_assumption and lv.id in possible}
    )
    notes = [n for n in t.notes if n.id != "oms_exception" or "high_risk" in phen_opts]
    lvl = possible[0] if len(possible) == 1 else None
    late_matters = any(k[2].startswith("none_") for k in totals)
    total = values[0] if len(values) == 1 else None
    explanation = (
        f"PNS-Care {total if total is not None else f'{values[0]}-{values[-1]}'}: "
        f"{phen_text}; {ab_text}; {cancer_text}"
        + (f"; {window_text}. " if late_matters else ". ")
        + (f"Level: {lvl.replace('_', '-')}." if lvl else f"Level: {' or '.join(possible)}.")
    )
    sources = tuple(
        dict.fromkeys(
            [s for ps in used.values() for p in ps for s in p.source if s != "assumption"]
            + ["graus_2021"]
        )
    )
    return PnsCareResult.build(
        phenotype=phen_text,
        phenotype_points=parts[0].points if parts else None,
        antibody=ab_text,
        antibody_points=parts[1].points if parts else None,
        cancer=f"{cancer_text}; {window_text}" if late_matters else cancer_text,
        cancer_points=parts[2].points if parts else None,
        total=total,
        total_range=(values[0], values[-1]),
        level=lvl,
        levels_possible=tuple(possible),
        missing=tuple(missing),
        assumption_parts=tuple(assumed),
        notes=tuple(notes),
        explanation=explanation,
        title=pc.title,
        sources=sources,
    )
