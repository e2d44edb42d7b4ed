"""Benchmark of the web page and the printable report.

Targets: server-side render of the assessment view <= 50 ms, printed as a ratio to the bare
``assess()`` call measured in the same run; PDF generation <= 2 s. Run:
``.venv/bin/python bench/web.py``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from omscds.interfaces.web.forms import CaseForm
from omscds.interfaces.web.render import assessment_vars, form_vars, render_page
from omscds.knowledge import load_knowledge
from omscds.model import parse_case
from omscds.reasoning import assess
from omscds.reports.pdf import render_report_pdf

ROOT = Path(__file__).resolve().parents[1]
RENDER_TARGET_S = 0.050
PDF_TARGET_S = 2.0


def _median(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up (template compilation, imports)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    kb = load_knowledge()
    data = json.loads((ROOT / "examples" / "seed1-03-ct-positive.json").read_text())
    case = parse_case(data)

    def bare() -> object:
        return assess(case, kb)

    def view() -> str:
        a = assess(case, kb)
        ctx = {"a": a, "banner": None, "kb": kb, "registry": False}
        ctx.update(assessment_vars(a, kb, "en", data))
        ctx.update(form_vars(CaseForm.from_case(data, kb), kb))
        return render_page("index.html.j2", "en", **ctx)

    a = assess(case, kb)
    t_assess = _median(bare, 50)
    t_view = _median(view, 50)
    t_pdf = _median(lambda: render_report_pdf(a, kb), 3)
    print(f"assess() baseline          {t_assess * 1000:8.2f} ms")
    print(
        f"assessment view (assess+render) {t_view * 1000:8.2f} ms  ratio {t_view / t_assess:6.1f}x"
        f"  target <= {RENDER_TARGET_S * 1000:.0f} ms: {'ok' if t_view <= RENDER_TARGET_S else 'SLOW'}"
    )
    print(
        f"PDF report                 {t_pdf * 1000:8.1f} ms  ratio {t_pdf / t_assess:6.0f}x"
        f"  target <= {PDF_TARGET_S:.0f} s: {'ok' if t_pdf <= PDF_TARGET_S else 'SLOW'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
