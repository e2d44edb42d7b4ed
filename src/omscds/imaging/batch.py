"""Many studies in parallel processes with Dask; one results table; resumable.

Studies come from a folder (each NIfTI file, DICOM file or DICOM sub-folder is one study) or
from a manifest CSV with columns ``path`` and optional ``kind``, ``age_months``, ``id``.
Results are appended to ``results.jsonl`` as each study finishes, so a rerun skips finished
studies; ``results.csv`` and ``results.json`` are rewritten at the end.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omscds.errors import InputError, OmscdsError
from omscds.imaging.identity import Signature, duplicates, signature

__all__ = ["Study", "discover", "run_batch", "run_one"]


@dataclass(frozen=True)
class Study:
    id: str
    path: str
    kind: str | None = None
    age_months: float | None = None


def _is_study(p: Path) -> bool:
    n = p.name.lower()
    return n.endswith((".nii", ".nii.gz", ".dcm")) or (p.is_dir() and any(p.iterdir()))


def discover(source: Path | str, default_age: float | None = None) -> list[Study]:
    """The studies in a folder or a manifest CSV."""
    src = Path(source)
    if not src.exists():
        raise InputError(f"no such folder or manifest: {src}", path=str(src))
    if src.is_file():
        if src.suffix.lower() != ".csv":
            raise InputError("batch takes a folder or a manifest .csv", path=str(src))
        out = []
        with src.open(newline="", encoding="utf-8") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                if not row.get("path"):
                    raise InputError("missing 'path'", path=f"{src.name}: row {i + 2}")
                p = Path(row["path"])
                p = p if p.is_absolute() else src.parent / p
                age = row.get("age_months") or None
                try:
                    age_v = float(age) if age is not None else default_age
                except ValueError:
                    raise InputError(
                        f"age_months {age!r} is not a number", path=f"{src.name}: row {i + 2}"
                    ) from None
                out.append(Study(row.get("id") or p.name, str(p), row.get("kind") or None, age_v))
        return out
    studies = [
        Study(p.name, str(p), None, default_age)
        for p in sorted(src.iterdir())
        if _is_study(p) and not p.name.startswith(("results", "."))
    ]
    if not studies:
        raise InputError("no studies (NIfTI, DICOM files or DICOM folders) found", path=str(src))
    return studies


def _signature(study: Study) -> Signature | None:
    return signature(study.path)


def _known(study: Study, done: dict[str, dict[str, Any]], fresh: dict[str, Any]) -> Any:
    """The signature of a study: computed in this run, or kept in the log of a finished one."""
    if study.id in fresh:
        return fresh[study.id]
    stored = done.get(study.id, {}).get("signature")
    try:
        return Signature.from_dict(stored) if stored else None
    except (KeyError, TypeError, ValueError):
        return None  # a log from an older omscds: that study is just not compared


def run_one(study: Study, kind: str | None) -> dict[str, Any]:
    """Analyse one study in a worker; errors become a row, never a crash."""
    from omscds.imaging.analyze import analyze_path

    base: dict[str, Any] = {"id": study.id, "path": study.path}
    try:
        res = analyze_path(study.path, study.kind or kind, study.age_months)
    except OmscdsError as exc:
        return base | {"status": "error", "error": str(exc)}
    return base | {"status": "ok"} | res.to_dict()


@contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Any]:
    import dask.distributed

    dd: Any = dask.distributed
    Client, LocalCluster = dd.Client, dd.LocalCluster

    if scheduler:
        client = Client(scheduler, timeout="20s")
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "path", "status", "duplicate_of", "kind", "age_months", "seconds")
    out = {k: row.get(k) for k in keys}
    for group in ("ratios", "z_scores", "volumes"):
        for k, v in (row.get(group) or {}).items():
            out[f"{'z_' if group == 'z_scores' else ''}{k}"] = v
    out["findings"] = ";".join(row.get("findings") or [])
    out["qc_status"] = (row.get("qc") or {}).get("status")
    out["error"] = row.get("error", "")
    return out


def run_batch(
    studies: list[Study],
    out_dir: Path | str,
    *,
    kind: str | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every study not yet in ``out_dir/results.jsonl``; return all rows.

    A study that repeats an earlier one of the list (the same image in another format, see
    :mod:`omscds.imaging.identity`) is not analysed again: its row has status ``duplicate`` and
    ``duplicate_of`` naming the study analysed.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    done: dict[str, dict[str, Any]] = {}
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("status") == "ok":
                    done[row["id"]] = row
    todo = [s for s in studies if s.id not in done]
    if progress:
        progress(len(studies) - len(todo), len(studies))
    if todo:
        import dask.distributed

        as_completed: Any = dask.distributed.as_completed

        with _client(scheduler, workers) as client, log.open("a", encoding="utf-8") as fh:
            found = client.gather(client.map(_signature, todo, pure=False))
            sigs = dict(zip((s.id for s in todo), found, strict=True))
            # finished studies first, so a study already analysed stays the one analysed
            order = [s for s in studies if s.id in done] + todo
            twins = duplicates(
                [(s.id, (s.kind or kind, s.age_months), _known(s, done, sigs)) for s in order]
            )
            for s in todo:
                if s.id in twins:
                    done[s.id] = {"id": s.id, "path": s.path, "status": "duplicate"}
                    done[s.id]["duplicate_of"] = twins[s.id]
                    if progress:
                        progress(1, len(studies))
            futures = [
                client.submit(run_one, s, kind, pure=False) for s in todo if s.id not in twins
            ]
            for fut in as_completed(futures):
                row = fut.result()
                if sigs.get(row["id"]) is not None:
                    row["signature"] = sigs[row["id"]].to_dict()
                done[row["id"]] = row
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                if progress:
                    progress(1, len(studies))
    rows = [
        {k: v for k, v in done[s.id].items() if k != "signature"} for s in studies if s.id in done
    ]
    (out / "results.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    flat = [_flat(r) for r in rows]
    keys = list(dict.fromkeys(k for r in flat for k in r))
    with (out / "results.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(flat)
    return rows
