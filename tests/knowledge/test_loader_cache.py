"""The load cache: a validated knowledge base kept per file contents (a CLI's cold start)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from omscds.errors import KnowledgeError
from omscds.knowledge import load_knowledge, loader
from omscds.knowledge.loader import DATA_DIR
from omscds.reasoning import assess_data

ROOT = Path(__file__).resolve().parents[2]


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the knowledge base was parsed again")

    monkeypatch.setattr(loader, "_parse", refuse)


def test_a_second_load_comes_from_the_cache_and_assesses_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = load_knowledge(cache_dir=cache)
    first.param("adult_age_months")
    first.memo("x", lambda: 1)
    assert len(list(cache.glob("kb-*.pickle"))) == 1
    _no_parsing(monkeypatch)
    second = load_knowledge(cache_dir=cache)
    assert second == first and second.sha256 == first.sha256
    assert second._memo == {}, "derived values are not kept in the cache"
    case = json.loads((ROOT / "examples" / "seed1-02-mibg-negative.json").read_text())
    assert assess_data(case, second).model_dump() == assess_data(case, first).model_dump()


def test_a_changed_file_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(DATA_DIR, kb_dir)
    cache = tmp_path / "cache"
    before = load_knowledge(kb_dir, cache_dir=cache)
    manifest = kb_dir / "manifest.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace(f'version: "{before.version}"', 'version: "9999.1.0"', 1))
    after = load_knowledge(kb_dir, cache_dir=cache)
    assert after.version == "9999.1.0" and after.sha256 != before.sha256
    assert len(list(cache.glob("kb-*.pickle"))) == 2


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    kb = load_knowledge(cache_dir=cache)
    (path,) = cache.glob("kb-*.pickle")
    path.write_bytes(b"not a pickle")
    again = load_knowledge(cache_dir=cache)
    assert again == kb
    assert path.read_bytes() != b"not a pickle"


def test_a_cache_that_cannot_be_written_is_only_not_used(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    assert load_knowledge(cache_dir=blocked / "omscds").version == load_knowledge().version


def test_an_invalid_knowledge_base_is_never_cached(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(DATA_DIR, kb_dir)
    (kb_dir / "priors.yaml").write_text("priors: [{id: x}]\n")
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(KnowledgeError, match=r"priors\.yaml"):
            load_knowledge(kb_dir, cache_dir=cache)
    assert not list(cache.glob("kb-*.pickle"))


def test_only_the_latest_few_are_kept(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    shutil.copytree(DATA_DIR, kb_dir)
    cache = tmp_path / "cache"
    manifest = kb_dir / "manifest.yaml"
    text = manifest.read_text()
    version = load_knowledge(kb_dir).version
    for i in range(loader._CACHE_KEEP + 2):
        manifest.write_text(text.replace(f'version: "{version}"', f'version: "9999.{i}.0"', 1))
        load_knowledge(kb_dir, cache_dir=cache)
    assert len(list(cache.glob("kb-*.pickle"))) == loader._CACHE_KEEP


def test_the_cache_folder_may_be_given_as_text(tmp_path: Path) -> None:
    kb = load_knowledge(cache_dir=str(tmp_path / "c"))
    assert load_knowledge(cache_dir=str(tmp_path / "c")) == kb
    assert len(list((tmp_path / "c").glob("kb-*.pickle"))) == 1
