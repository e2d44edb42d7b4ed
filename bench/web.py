"""Benchmark of the web page and the printable report.

Targets: the view (the view model alone, and the server-side render of the page that draws it)
<= 50 ms; the PDF report (with its first page of inputs) <= 2 s. Each is printed with its ratio
to the bare ``assess()`` call measured in the same run. Exit status 1 when a target is missed.
Run: ``.venv/bin/python bench/web.py``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from omscds.interfaces.web.forms import CaseForm
from omscds.interfaces.web.render import (
    assessment_vars,
    case_line,
    form_vars,
    render_page,
    share_link,
)
from omscds.knowledge import load_knowledge
from omscds.model import parse_case
from omscds.reasoning import assess
from omscds.reports.pdf import render_report_pdf
from omscds.view import build_view

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
        # what the page route adds (interfaces/web/routes.py ``_page``)
        ctx.update(case_line=case_line(data, "en"), share_link=share_link(data))
        ctx.update(example_edited=False, result_view="actual", csrf="")
        return render_page("index.html.j2", "en", **ctx)

    a = assess(case, kb)
    t_assess = _median(bare, 50)
    t_model = _median(lambda: build_view(a, kb, case=case), 200)
    t_view = _median(view, 50)
    t_pdf = _median(lambda: render_report_pdf(a, kb, case=case), 3)
    ok = True

    def line(name: str, t: float, target: float) -> None:
        nonlocal ok
        ok &= t <= target
        unit = f"{target * 1000:.0f} ms" if target < 1 else f"{target:.0f} s"
        print(
            f"{name:34s} {t * 1000:9.2f} ms  ratio {t / t_assess:7.1f}x"
            f"  target <= {unit}: {'ok' if t <= target else 'SLOW'}"
        )

    print(f"{'assess() baseline':34s} {t_assess * 1000:9.2f} ms")
    line("view model (build_view)", t_model, RENDER_TARGET_S)
    line("assessment view (assess+render)", t_view, RENDER_TARGET_S)
    line("PDF report (3 pages, with inputs)", t_pdf, PDF_TARGET_S)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
