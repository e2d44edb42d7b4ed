"""Which body regions a tumour search has covered, and with what."""

from __future__ import annotations

from collections.abc import Iterable

from omscds.knowledge import KnowledgeBase
from omscds.model import BODY_REGIONS, Case, TestResult

__all__ = ["body_regions", "is_tumour_positive", "searched_regions", "uncovered_regions"]


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
    out: dict[str, str | None] = dict.fromkeys(BODY_REGIONS)
    for test in case.tests:
        if _completes(test, kb):
            for region in body_regions(test.regions):
                out[region] = test.modality
    return out


def uncovered_regions(case: Case, kb: KnowledgeBase) -> tuple[str, ...]:
    return tuple(r for r, by in searched_regions(case, kb).items() if by is None)


#: modalities that look for the tumour itself (a positive one means "tumour seen")
_TUMOUR_SEEKING_WITHOUT_REGIONS = frozenset({"urine_catecholamines", "bone_marrow", "biopsy"})


def is_tumour_positive(test: TestResult) -> bool:
    """A positive result that points at a tumour in the body (not a brain or CSF finding).

    >>> from omscds.model import TestResult
    >>> is_tumour_positive(TestResult(modality="mri", regions=("brain",), result="positive"))
    False
    >>> is_tumour_positive(TestResult(modality="ct", regions=("neck", "chest"), result="positive"))
    True
    """
    if test.result != "positive":
        return False
    if test.modality in _TUMOUR_SEEKING_WITHOUT_REGIONS:
        return True
    if test.modality in {"perfusion_spect", "csf", "eeg", "toxicology", "onconeural_antibodies"}:
        return False
    return bool(body_regions(test.regions))
