"""Benchmark: ``registry reassess`` against the single-assessment floor, and 1 -> 2 workers.

Fills a fresh SQLite registry with N visits (patients of V visits each, stored with their audit
rows, not assessed), then re-assesses every patient's latest visit under the shipped knowledge
base with 1 worker (in-process) and with 2 worker processes (each run on its own copy of the
filled registry). Prints, measured in this run: the floor (in-process ``assess`` of the same
assembled cases, no database: assessments/s on one core), re-assessed visits/s per core for
each run and its ratio to the floor, and the speed-up from 1 to 2 workers (target >= 1.7x).
Everything runs in temporary files; nothing is left behind.

    .venv/bin/python bench/reassess.py                      # 20,000 visits (5,000 patients)
    .venv/bin/python bench/reassess.py --visits 200000      # the issue's size (slow: minutes)
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from omscds.knowledge import load_knowledge
from omscds.model import parse_case
from omscds.reasoning import assess
from omscds.storage import HistoryEntry, ReassessRun, build_assessment_case, open_registry

ITEMS = ("stance", "gait", "arm_hand_function", "opsoclonus", "mood_behaviour", "speech")
REGIONS = [["neck", "chest"], ["abdomen", "pelvis"], ["neck", "chest", "abdomen", "pelvis"]]


def _case(rng: random.Random, v: int, day: dt.date) -> dict[str, Any]:
    case: dict[str, Any] = {
        "age_months": 18 + v,
        "findings": {
            "opsoclonus": "present",
            "ataxia": rng.choice(["present", "absent"]),
            "irritability": rng.choice(["present", "unknown"]),
        },
        "severity": {"scale": "mitchell_pike", "items": {i: rng.randint(0, 3) for i in ITEMS}},
    }
    if rng.random() < 0.5:
        case["tests"] = [
            {
                "modality": rng.choice(["mri", "ct", "mibg", "urine_catecholamines"]),
                "regions": rng.choice(REGIONS),
                "result": rng.choice(["negative", "negative", "equivocal"]),
                "date": day.isoformat(),
            }
        ]
        if case["tests"][0]["modality"] in ("mibg", "urine_catecholamines"):
            del case["tests"][0]["regions"]
    return case


def fill(url: str, visits: int, per_patient: int) -> list[list[tuple[dt.date, dict[str, Any]]]]:
    kb = load_knowledge()
    reg = open_registry(url, kb, actor="bench", create=True)
    rng = random.Random(11)
    start = dt.date(2020, 1, 6)
    histories = []
    t0 = time.perf_counter()
    try:
        patients = max(1, visits // per_patient)
        for p in range(patients):
            rows = []
            for v in range(per_patient):
                day = start + dt.timedelta(days=30 * v)
                rows.append((day, _case(rng, v, day)))
            reg.add_visits([(f"B{p:07d}", c, d) for d, c in rows], assess_now=False)
            histories.append(rows)
            if (p + 1) % 2000 == 0:
                print(f"  filled {(p + 1) * per_patient:,} visits", file=sys.stderr, flush=True)
    finally:
        reg.close()
    print(f"filled {len(histories) * per_patient:,} visits in {time.perf_counter() - t0:.0f} s")
    return histories


def floor(histories: list[list[tuple[dt.date, dict[str, Any]]]], seconds: float) -> float:
    """Assessments per second of the same assembled latest-visit cases, in process."""
    kb = load_knowledge()
    cases = []
    for rows in histories[:500]:
        entries = [HistoryEntry(d, parse_case(c)) for d, c in rows]
        cases.append(build_assessment_case(entries[:-1], entries[-1]))
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        assess(cases[n % len(cases)], kb)
        n += 1
    return n / (time.perf_counter() - t0)


def reassess_rate(url: str, workers: int) -> tuple[float, int]:
    kb = load_knowledge()
    reg = open_registry(url, kb, actor="bench")
    # the filled visits were never assessed: every latest visit is to do
    t0 = time.perf_counter()
    done = 0
    try:
        for out in reg.reassess(workers=workers):
            if not isinstance(out, ReassessRun):
                done += 1
    finally:
        reg.close()
    return done / (time.perf_counter() - t0), done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=20_000)
    ap.add_argument("--per-patient", type=int, default=4)
    ap.add_argument("--floor-seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="omscds-bench-reassess-"))
    try:
        base = tmp / "filled.db"
        histories = fill(f"sqlite:///{base}", args.visits, args.per_patient)
        fl = floor(histories, args.floor_seconds)
        print(f"floor: in-process assess of the same cases: {fl:,.0f} assessments/s (1 core)")
        rates = {}
        for workers in (1, 2):
            copy = tmp / f"run{workers}.db"
            shutil.copyfile(base, copy)
            rate, done = reassess_rate(f"sqlite:///{copy}", workers)
            rates[workers] = rate
            print(
                f"reassess, {workers} worker(s): {done:,} patients' latest visits at "
                f"{rate:,.0f} visits/s = {rate / workers:,.0f} per core, "
                f"{fl / (rate / workers):.2f}x the floor's time per visit"
            )
        speedup = rates[2] / rates[1]
        verdict = "ok" if speedup >= 1.7 else "below target"
        print(f"speed-up 1 -> 2 workers: {speedup:.2f}x (target >= 1.7x: {verdict})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
