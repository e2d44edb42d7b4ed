"""Which body regions a tumour search has covered, and with what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from omscds.knowledge import KnowledgeBase
from omscds.model import BODY_REGIONS, Case, History, TestResult

__all__ = [
    "SearchView",
    "body_regions",
    "had_resection",
    "has_relapsed",
    "is_tumour_positive",
    "search_view",
    "searched_regions",
    "uncovered_regions",
]


def has_relapsed(h: History) -> bool:
    """OMS relapsed after a remission: said so, or given by its date."""
    return bool(h.relapse or h.relapse_date is not None)


def had_resection(h: History) -> bool:
    """A neuroblastic tumour was resected before: said so, or the resection is recorded."""
    return bool(h.prior_tumour_resected or h.resection is not None)


def body_regions(regions: Iterable[str]) -> tuple[str, ...]:
    """Expand ``whole_body`` and keep neck/chest/abdomen/pelvis, in canonical order.

    >>> body_regions(["whole_body"])
    ('neck', 'chest', 'abdomen', 'pelvis')
    >>> body_regions(["brain", "pelvis", "chest"])
    ('chest', 'pelvis')
    """
    wanted = set(regions)
    if "whole_body" in wanted:
        return BODY_REGIONS
    return tuple(r for r in BODY_REGIONS if r in wanted)


def _completes(test: TestResult, kb: KnowledgeBase) -> bool:
    mod = kb.modalities.get(test.modality)
    return bool(mod and mod.completes_search) and test.result in ("negative", "positive")


def searched_regions(case: Case, kb: KnowledgeBase) -> dict[str, str | None]:
    """Region -> the modality that completed it (CT, MRI, whole-body MRI), else ``None``.

    Only a completed (negative or positive) cross-sectional study covers a region; ultrasound,
    chest X-ray, MIBG and urine never complete the search. The latest study wins.
    """
    return _covered(case.tests, kb)


def _covered(tests: Iterable[TestResult], kb: KnowledgeBase) -> dict[str, str | None]:
    out: dict[str, str | None] = dict.fromkeys(BODY_REGIONS)
    for test in tests:
        if _completes(test, kb):
            for region in body_regions(test.regions):
                out[region] = test.modality
    return out


def uncovered_regions(case: Case, kb: KnowledgeBase) -> tuple[str, ...]:
    return tuple(r for r, by in searched_regions(case, kb).items() if by is None)


def is_tumour_positive(test: TestResult, kb: KnowledgeBase) -> bool:
    """A positive result that points at a tumour in the body (not a brain or CSF finding).

    What a positive result means is the modality's ``finds`` (modalities.yaml).

    >>> from omscds.knowledge import load_knowledge
    >>> from omscds.model import TestResult
    >>> kb = load_knowledge()
    >>> is_tumour_positive(TestResult(modality="mri", regions=("brain",), result="positive"), kb)
    False
    >>> is_tumour_positive(TestResult(modality="urine_catecholamines", result="positive"), kb)
    True
    """
    if test.result != "positive":
        return False
    mod = kb.modalities.get(test.modality)
    finds = mod.finds if mod is not None else "regions"
    if finds == "anywhere":
        return True
    if finds == "not_tumour":
        return False
    return bool(body_regions(test.regions))


@dataclass(frozen=True)
class SearchView:
    """The tumour search as it stands now, for the pathway.

    A relapse, or OMS that persists after a resection, re-opens the search: only tests dated
    after the event count (``since``); without a date, no earlier test counts, so the renewed
    search covers every region (the reading that cannot leave a recurrence unsearched).
    """

    population: str
    regions: tuple[str, ...]
    reopened: bool
    since: dt.date | None
    tests: tuple[TestResult, ...]
    covered: dict[str, str | None]
    warnings: tuple[str, ...] = ()

    @property
    def uncovered(self) -> tuple[str, ...]:
        return tuple(r for r in self.regions if self.covered.get(r) is None)


def search_view(case: Case, kb: KnowledgeBase, population: str, reopened: bool) -> SearchView:
    """Which tests count for the search now, and which of the branch's regions they cover.

    ``reopened``: the pathway's ``reopen`` rule held (a relapse, or OMS after a resection).
    """
    h = case.history
    regions = kb.pathway.branch(population).search_regions if kb.pathway else BODY_REGIONS
    relapse = has_relapsed(h)
    tests: tuple[TestResult, ...] = case.tests
    since: dt.date | None = None
    warnings: list[str] = []
    if reopened:
        dates = [d for d in (h.relapse_date, h.resection.date if h.resection else None) if d]
        since = max(dates) if dates else None
        event = "relapse" if relapse else "resection"
        if since is None:
            # without the date no negative can be placed after the event, but a positive one
            # may be the recurrence itself: it still counts (it can only escalate the advice)
            tests = tuple(
                t for t in case.tests if is_tumour_positive(t, kb) and t.histology is None
            )
            if case.tests:
                warnings.append(
                    f"The search re-opens after the {event}, but its date is not given "
                    "(history.relapse_date or history.resection.date): no earlier negative "
                    "test or histology counts for the renewed search; positive studies still do."
                )
        else:
            tests = tuple(t for t in case.tests if t.date is not None and t.date > since)
            undated = sum(1 for t in case.tests if t.date is None)
            if undated:
                warnings.append(
                    f"{undated} test(s) without a date are taken as before the {event} of {since}."
                )
    covered = _covered(tests, kb)
    return SearchView(population, tuple(regions), reopened, since, tests, covered, tuple(warnings))
