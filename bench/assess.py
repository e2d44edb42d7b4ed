"""Benchmark: in-process assessments per second against the parse-and-validate floor.

Prints ratios measured in the same run (targets: an assessment <= 1 ms per bundled example, and
its ratio to the floor of parsing and validating the same JSON, aim <= 10x; CLI cold start
<= 0.5 s above a bare interpreter). Usage:

    .venv/bin/python bench/assess.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omscds.knowledge import load_knowledge
from omscds.model import parse_case
from omscds.reasoning import assess_data

ROOT = Path(__file__).resolve().parents[1]
REGIONS = [["neck"], ["chest"], ["abdomen"], ["pelvis"], ["neck", "chest"], ["abdomen", "pelvis"]]
MODALITIES = ["ultrasound", "mibg", "urine_catecholamines", "chest_xray", "ct", "mri"]


def synthetic(n_tests: int) -> str:
    """A child with OMS and ``n_tests`` negative or equivocal studies (regions rotate)."""
    tests: list[dict[str, Any]] = []
    for i in range(n_tests):
        m = MODALITIES[i % len(MODALITIES)]
        t: dict[str, Any] = {"modality": m, "result": "equivocal" if i % 7 == 3 else "negative"}
        if m in ("ct", "mri", "ultrasound"):
            t["regions"] = REGIONS[i % len(REGIONS)]
        tests.append(t)
    case = {
        "case_id": f"synthetic-{n_tests}",
        "age_months": 20,
        "findings": {"opsoclonus": "present", "ataxia": "present", "irritability": "present"},
        "tests": tests,
    }
    return json.dumps(case)


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second, best of three windows."""
    best = 0.0
    for _ in range(3):
        n = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            fn()
            n += 1
        best = max(best, n / elapsed)
    return best


def cold_start(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = ap.parse_args()
    kb = load_knowledge()
    sets = {
        "examples": [p.read_text() for p in sorted((ROOT / "examples").glob("*.json"))],
        "10 tests": [synthetic(10)],
        "50 tests": [synthetic(50)],
    }
    print(f"knowledge base {kb.version}; {args.seconds:g} s per measurement")
    print(
        f"{'cases':<10} {'floor/s':>10} {'assess/s':>10} {'ms each':>8} {'ratio':>7}  "
        "aim <= 10x (examples: <= 1 ms each)"
    )
    worst = 0.0
    for name, texts in sets.items():

        def floor(texts: list[str] = texts) -> None:
            for t in texts:
                parse_case(json.loads(t))

        def full(texts: list[str] = texts) -> None:
            for t in texts:
                assess_data(json.loads(t), kb)

        f = rate(floor, args.seconds) * len(texts)
        a = rate(full, args.seconds) * len(texts)
        ratio = f / a
        worst = max(worst, ratio)
        each = 1000 / a
        verdict = "ok" if ratio <= 10 else "MISSED"
        if name == "examples":
            verdict += "; 1 ms: " + ("ok" if each <= 1 else "MISSED")
        print(f"{name:<10} {f:>10.0f} {a:>10.0f} {each:>8.2f} {ratio:>6.1f}x  {verdict}")

    # an installed package runs from bytecode; this environment may forbid writing it
    # (PYTHONDONTWRITEBYTECODE), which would time the compiler rather than omscds
    import omscds

    compileall.compile_dir(str(Path(omscds.__file__).parent), quiet=1)
    exe = str(Path(sys.executable).with_name("omscds"))
    seed = str(ROOT / "examples" / "seed1-02-mibg-negative.json")
    base = cold_start([sys.executable, "-c", "pass"])
    version = cold_start([exe, "--version"])
    assess = cold_start([exe, "assess", "-f", "json", seed])
    print(
        f"cold start: python -c pass {base * 1000:.0f} ms; omscds --version "
        f"{version * 1000:.0f} ms (+{(version - base) * 1000:.0f} ms); omscds assess "
        f"{assess * 1000:.0f} ms (+{(assess - base) * 1000:.0f} ms); target <= +500 ms: "
        f"{'ok' if assess - base <= 0.5 else 'MISSED'} (bytecode compiled; the knowledge base "
        "from the user's cache after the first run)"
    )
    print(f"worst assess/floor ratio {worst:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
