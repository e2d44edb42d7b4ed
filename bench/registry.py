"""Registry benchmark: N patients x V visits into SQLite and PostgreSQL.

Prints, per engine and measured in this run: the insert rate (visits/s; visits validated, stored
with their audit rows, one transaction per patient, not assessed), the p95 of the per-patient
``show`` (history + latest assessment) and timeline-data queries, peak memory (RSS) at 1k
patients and at the end, so that "flat in the number of patients" can be read off directly,
and the rate of ``registry verify`` (audit rows checked per second, chain and data).
Targets: p95 <= 20 ms per patient query on both engines; memory at N ~ memory at 1k.

    .venv/bin/python bench/registry.py                 # 10,000 patients x 20 visits
    .venv/bin/python bench/registry.py --patients 2000 --engines sqlite
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from omscds.knowledge import load_knowledge
from omscds.storage import Registry, open_registry

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ("stance", "gait", "arm_hand_function", "opsoclonus", "mood_behaviour", "speech")
TARGET_MS = 20.0


def _pg_helper() -> Any:
    spec = importlib.util.spec_from_file_location("_omscds_pg", ROOT / "tests/storage/pg.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _case(rng: random.Random, day: int) -> dict[str, Any]:
    items = {i: rng.randint(0, 3) for i in ITEMS}
    case: dict[str, Any] = {
        "age_months": 18 + day / 30,
        "findings": {"opsoclonus": "present", "ataxia": rng.choice(["present", "absent"])},
        "severity": {"scale": "mitchell_pike", "items": items},
    }
    if day == 0:
        case["tests"] = [{"modality": "mri", "regions": ["neck", "chest", "abdomen", "pelvis"],
                          "result": "negative", "date": "2020-01-01"}]  # fmt: skip
    return case


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def run(reg: Registry, name: str, patients: int, visits: int, samples: int) -> dict[str, float]:
    rng = random.Random(7)
    start_day = dt.date(2020, 1, 2)
    t0 = time.perf_counter()
    rss_1k = 0.0
    for p in range(patients):
        batch = [
            (f"P{p:06d}", _case(rng, v * 30), start_day + dt.timedelta(days=30 * v))
            for v in range(visits)
        ]
        reg.add_visits(batch, assess_now=False)
        if p == 0:
            reg.assess_latest("P000000")  # one stored assessment for `show` to read
        done = p + 1
        if done == min(1000, patients):
            rss_1k = _rss_mb()
        if done % 1000 == 0 or done == patients:
            rate = done * visits / (time.perf_counter() - t0)
            print(f"  {name}: {done}/{patients} patients, {rate:,.0f} visits/s, "
                  f"peak RSS {_rss_mb():.0f} MB", flush=True)  # fmt: skip
    insert_s = time.perf_counter() - t0
    keys = [f"P{rng.randrange(patients):06d}" for _ in range(samples)]
    show_t: list[float] = []
    time_t: list[float] = []
    for key in keys:
        t = time.perf_counter()
        h = reg.history(key)
        show_t.append(time.perf_counter() - t)
        assert len(h.visits) == visits
        t = time.perf_counter()
        reg.timeline(key)
        time_t.append(time.perf_counter() - t)
    # `registry verify`: the audit chain, then every visit and assessment against its audit row
    t = time.perf_counter()
    chain = reg.verify_audit()
    records = reg.verify_records()
    verify_s = time.perf_counter() - t
    assert chain.ok and records.ok, (chain.broken, records.broken)
    return {
        "verify_rows_per_s": chain.rows / verify_s,
        "visits_per_s": patients * visits / insert_s,
        "show_p95_ms": _p95(show_t),
        "timeline_p95_ms": _p95(time_t),
        "rss_1k_mb": rss_1k,
        "rss_end_mb": _rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--visits", type=int, default=20)
    ap.add_argument("--samples", type=int, default=300, help="patients queried for the p95")
    ap.add_argument("--engines", default="sqlite,postgresql")
    args = ap.parse_args(argv)
    if args.patients < 1 or args.visits < 1:
        ap.error("--patients and --visits must be at least 1")
    kb = load_knowledge()
    results: dict[str, dict[str, float]] = {}
    for engine in args.engines.split(","):
        print(f"{engine}: {args.patients} patients x {args.visits} visits", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            server = None
            if engine == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            elif engine == "postgresql":
                server = _pg_helper().start_postgres()
                url = server.create_database("bench")
            else:
                ap.error(f"unknown engine {engine!r}")
            reg = open_registry(url, kb, actor="bench", create=True)
            try:
                results[engine] = run(reg, engine, args.patients, args.visits, args.samples)
            finally:
                reg.close()
                if server is not None:
                    server.stop()
    print("\nengine      visits/s   show p95   timeline p95   RSS@1k   RSS@end   ratio end/1k"
          "   verify rows/s")  # fmt: skip
    ok = True
    for engine, r in results.items():
        ratio = r["rss_end_mb"] / r["rss_1k_mb"] if r["rss_1k_mb"] else float("nan")
        print(f"{engine:<11} {r['visits_per_s']:>8,.0f}   {r['show_p95_ms']:>6.1f} ms   "
              f"{r['timeline_p95_ms']:>9.1f} ms   {r['rss_1k_mb']:>4.0f} MB   "
              f"{r['rss_end_mb']:>5.0f} MB   {ratio:>6.2f}   {r['verify_rows_per_s']:>12,.0f}")  # fmt: skip
        ok &= r["show_p95_ms"] <= TARGET_MS and r["timeline_p95_ms"] <= TARGET_MS
    print(f"target p95 <= {TARGET_MS:.0f} ms per patient query: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
