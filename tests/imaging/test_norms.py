from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omscds.errors import KnowledgeError
from omscds.imaging.norms import MEASURES, load_norms, z_score
from omscds.knowledge import load_knowledge
from omscds.knowledge.loader import DATA_DIR


def test_every_row_cited_and_bands_cover_all_ages() -> None:
    norms = load_norms()
    kb = load_knowledge()
    for row in (*norms.norms, *norms.thresholds):
        assert row.source
        for sid in row.source:
            assert sid == "assumption" or sid in kb.sources
        if row.is_assumption:
            assert "not clinically validated" in (row.reasoning or "").lower() or row in (
                norms.thresholds
            )
    for m in MEASURES:
        for age in (0, 2, 11, 24, 47, 60, 200, 600):
            assert norms.row(m, age).covers(age)


def test_derived_values_say_so() -> None:
    for row in load_norms().norms:
        if "barthel_1997" in row.source:
            assert row.note and "derived" in row.note


def test_seed_child_band_is_the_toddler_band() -> None:
    row = load_norms().row("cerebellum_to_cortex", 24)
    assert row.age_min_months <= 24 < (row.age_max_months or 1e9)
    assert z_score(row.mean - 3 * row.sd, row) == pytest.approx(3.0)


def _write(tmp_path: Path, mutate: object) -> Path:
    raw = yaml.safe_load((DATA_DIR / "imaging_norms.yaml").read_text())
    mutate(raw)  # type: ignore[operator]
    p = tmp_path / "imaging_norms.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_unknown_source_is_rejected(tmp_path: Path) -> None:
    def bad(raw: dict) -> None:  # type: ignore[type-arg]
        raw["norms"][0]["source"] = "no_such_paper"

    with pytest.raises(KnowledgeError, match="unknown source"):
        load_norms(_write(tmp_path, bad))


def test_assumption_without_reasoning_is_rejected(tmp_path: Path) -> None:
    def bad(raw: dict) -> None:  # type: ignore[type-arg]
        raw["norms"][0].pop("reasoning")

    with pytest.raises(KnowledgeError, match="reasoning"):
        load_norms(_write(tmp_path, bad))


def test_gap_between_bands_is_rejected(tmp_path: Path) -> None:
    def bad(raw: dict) -> None:  # type: ignore[type-arg]
        raw["norms"][1]["age_min_months"] = 4

    with pytest.raises(KnowledgeError, match="gap"):
        load_norms(_write(tmp_path, bad))


def test_norms_are_hashed_into_the_knowledge_base(tmp_path: Path) -> None:
    import shutil

    base = load_knowledge().sha256
    d = tmp_path / "kb"
    shutil.copytree(DATA_DIR, d)
    (d / "imaging_norms.yaml").write_text((d / "imaging_norms.yaml").read_text() + "\n# changed\n")
    assert load_knowledge(d).sha256 != base
