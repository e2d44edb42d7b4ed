"""``registry reassess``: re-assess every latest visit under a knowledge base; who changed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from omscds.errors import InputError
from omscds.knowledge import KnowledgeBase, load_knowledge
from omscds.knowledge.loader import DATA_DIR
from omscds.storage import ReassessItem, ReassessRun, Registry, open_registry

MIBG_NEG = {"modality": "mibg", "result": "negative", "date": "2024-03-05"}


def _changed_kb(tmp_path: Path) -> Path:
    """The shipped knowledge base with one rule changed: CSF is no longer advised once an MIBG
    was negative (only the patients with a negative MIBG change)."""
    root = tmp_path / "kb"
    shutil.copytree(DATA_DIR, root)
    path = root / "recommendations.yaml"
    text = path.read_text()
    old = '    when_none: [csf_done]\n    title: "CSF: oligoclonal'
    assert old in text
    path.write_text(
        text.replace(old, '    when_none: [csf_done, mibg_negative]\n    title: "CSF: oligoclonal')
    )
    return root


@contextmanager
def _under_changed_kb(db_url: str, tmp_path: Path) -> Iterator[tuple[Registry, Path]]:
    """The registry opened with the changed knowledge base (and that knowledge base's folder)."""
    kb_dir = _changed_kb(tmp_path)
    new = open_registry(db_url, load_knowledge(kb_dir), actor="reassessor")
    try:
        yield new, kb_dir
    finally:
        new.close()


def _fill(registry: Registry, build: Any, n: int = 6) -> set[str]:
    """``n`` patients with two visits each; the odd ones had a negative MIBG at the second."""
    changed = set()
    for i in range(n):
        key = f"p{i:03d}"
        registry.add_visit(key, build.visit(10), "2024-03-01")
        tests = [MIBG_NEG] if i % 2 else None
        registry.add_visit(key, build.visit(8, tests), "2024-03-10")
        if i % 2:
            changed.add(key)
    return changed


def _run(reg: Registry, **options: Any) -> tuple[ReassessRun, list[ReassessItem]]:
    out = list(reg.reassess(**options))
    run = out[0]
    assert isinstance(run, ReassessRun)
    items = [o for o in out[1:] if isinstance(o, ReassessItem)]
    return run, items


def test_only_the_patients_whose_advice_changed_are_reported(
    registry: Registry, db_url: str, build: Any, tmp_path: Path
) -> None:
    expected = _fill(registry, build)
    with _under_changed_kb(db_url, tmp_path) as (new, kb_dir):
        run, items = _run(new, kb_dir=str(kb_dir), workers=1)
        assert (run.total, run.skipped, run.done) == (6, 0, 6)
        assert {i.patient_key for i in items if i.changed} == expected
        assert run.changed == len(expected)
        for i in items:
            assert i.change is not None
            if i.changed:
                assert i.change.removed == ("csf_support",) and i.change.added == ()
            assert i.visit_date.isoformat() == "2024-03-10"  # the latest visit only
        # stored with its knowledge base next to the old one, audited, and the chain holds
        latest = new.history("p001").latest_assessment
        assert latest is not None and latest.kb_sha256 == new.kb.sha256
        assert not any(r["id"] == "csf_support" for r in latest.assessment["recommendations"])
        assert new.verify_audit().ok and new.verify_records().ok
        actions = [e.action for e in new.audit(limit=100).items]
        assert actions.count("reassess") == 6
        # a second run has nothing left to do
        run2, items2 = _run(new, kb_dir=str(kb_dir), workers=1)
        assert (run2.total, run2.skipped, items2) == (6, 6, [])


def test_the_same_knowledge_base_changes_nothing(registry: Registry, build: Any) -> None:
    _fill(registry, build, n=3)
    run, items = _run(registry, workers=1)
    assert run.skipped == 3 and items == []  # add_visit assessed them under this knowledge base


def test_a_run_stopped_part_way_resumes_where_it_stopped(
    registry: Registry, db_url: str, build: Any, tmp_path: Path
) -> None:
    expected = _fill(registry, build)
    with _under_changed_kb(db_url, tmp_path) as (new, kb_dir):
        gen = new.reassess(kb_dir=str(kb_dir), workers=1, chunk=2)
        first = [next(gen), next(gen)]  # the counts, then the first stored patient
        gen.close()  # stopped (as by a kill) after the first chunk was committed
        assert isinstance(first[1], ReassessItem)
        run, items = _run(new, kb_dir=str(kb_dir), workers=1, chunk=2)
        assert run.skipped == 2 and run.done == 4
        done_first = {"p000", "p001"}
        assert {i.patient_key for i in items} == {f"p{i:03d}" for i in range(6)} - done_first
        assert {i.patient_key for i in items if i.changed} == expected - done_first


@pytest.fixture
def sqlite_registry(tmp_path: Path, kb: KnowledgeBase) -> Any:
    """One engine is enough for the pool and the cluster (the database side is the same code)."""
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    reg = open_registry(url, kb, actor="tester", create=True)
    try:
        yield reg, url
    finally:
        reg.close()


def test_worker_processes_give_the_same_answer(
    sqlite_registry: tuple[Registry, str], build: Any, tmp_path: Path
) -> None:
    registry, db_url = sqlite_registry
    expected = _fill(registry, build)
    with _under_changed_kb(db_url, tmp_path) as (new, kb_dir):
        run, items = _run(new, kb_dir=str(kb_dir), workers=2, chunk=2)
        assert run.done == 6
        assert {i.patient_key for i in items if i.changed} == expected


def test_a_dask_cluster_gives_the_same_answer(
    sqlite_registry: tuple[Registry, str], build: Any, tmp_path: Path
) -> None:
    import dask.distributed

    registry, db_url = sqlite_registry
    expected = _fill(registry, build)
    kb_dir = _changed_kb(tmp_path)
    new = open_registry(db_url, load_knowledge(kb_dir), actor="reassessor")
    cluster = dask.distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=40,
    )  # fmt: skip
    try:
        run, items = _run(new, kb_dir=str(kb_dir), scheduler=cluster.scheduler_address, chunk=2)
        assert run.done == 6
        assert {i.patient_key for i in items if i.changed} == expected
    finally:
        new.close()
        cluster.close()


def test_a_worker_with_another_knowledge_base_is_refused(
    sqlite_registry: tuple[Registry, str], build: Any, tmp_path: Path
) -> None:
    """The registry's knowledge base and the directory the workers load must be the same."""
    registry, db_url = sqlite_registry
    _fill(registry, build, n=2)
    with (
        _under_changed_kb(db_url, tmp_path) as (new, _),
        pytest.raises(Exception, match="not the one asked for"),
    ):
        _run(new, kb_dir=None, workers=2)  # the workers would load the shipped one


@pytest.mark.parametrize(
    ("options", "path"),
    [({"threshold": 2.0}, "threshold"), ({"workers": 0}, "workers"), ({"chunk": 0}, "chunk")],
)
def test_bad_options_are_clear_errors(
    registry: Registry, options: dict[str, Any], path: str
) -> None:
    with pytest.raises(InputError) as err:
        _run(registry, **options)
    assert err.value.path == path


def test_the_cli_reports_the_changes_and_writes_json_lines(
    tmp_path: Path, build: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from omscds.interfaces.cli.main import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    reg = open_registry(url, load_knowledge(), actor="t", create=True)
    try:
        expected = _fill(reg, build, n=4)
    finally:
        reg.close()
    kb_dir = _changed_kb(tmp_path)
    out = tmp_path / "changes.jsonl"
    code = main(
        ["registry", "reassess", "-d", url, "--kb", str(kb_dir), "-w", "1", "--jsonl", str(out)]
    )
    printed = capsys.readouterr()
    assert code in (0, None)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["patient"] for r in rows if r["changed"]} == expected
    assert all(
        r["change"]["recommendations_removed"] == ["csf_support"] for r in rows if r["changed"]
    )
    for key in expected:
        assert key in printed.out
    assert "2 with changed advice" in printed.err
