"""Work that must not run on the event loop: PDFs in a bounded process pool.

WeasyPrint is CPU-bound Python; in threads it would hold the interpreter lock that the event
loop needs, so two clients looping on PDFs would still stall ``/healthz``. The pool's worker
processes (started on first use, ``spawn``, so nothing of the server is inherited) load the
knowledge base once and render from the assessment's JSON. At most ``workers`` PDFs render and
``queue`` wait; beyond that :class:`~omscds.interfaces.api.problems.Overloaded` (503 with
``Retry-After``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import multiprocessing
import threading
from typing import Any

from omscds.interfaces.api.problems import Overloaded

__all__ = ["PdfPool"]

_KB: Any = None


def _init(knowledge_dir: str | None) -> None:
    global _KB
    from omscds.knowledge import load_knowledge

    _KB = load_knowledge(knowledge_dir)


def _render(assessment_json: str, lang: str, case_json: str | None = None) -> bytes:
    """One PDF in a renderer process; ``case_json`` (the case as assessed, already checked by
    the caller) puts the inputs on the report's first page."""
    from omscds.interfaces.web.i18n import get_translations
    from omscds.model import Assessment, parse_case
    from omscds.reports.pdf import render_report_pdf

    a = Assessment.model_validate_json(assessment_json)
    case = parse_case(json.loads(case_json)) if case_json is not None else None
    return render_report_pdf(a, _KB, translations=get_translations(lang), lang=lang, case=case)


class PdfPool:
    """A bounded pool of PDF renderers."""

    def __init__(self, workers: int, queue: int, knowledge_dir: str | None) -> None:
        self.workers = workers
        self.limit = workers + queue
        self.knowledge_dir = knowledge_dir
        self._busy = 0
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init,
                    initargs=(self.knowledge_dir,),
                )
            return self._pool

    async def render(self, assessment_json: str, lang: str, case_json: str | None = None) -> bytes:
        """The PDF, or Overloaded when ``workers + queue`` PDFs are already in hand."""
        with self._lock:
            if self._busy >= self.limit:
                raise Overloaded(
                    f"{self._busy} PDFs are being made; try again in a few seconds",
                    retry_after=3,
                )
            self._busy += 1
        try:
            future = self._executor().submit(_render, assessment_json, lang, case_json)
            return await asyncio.wrap_future(future)
        except concurrent.futures.process.BrokenProcessPool:
            self.close()  # a renderer died (killed, out of memory): start afresh next time
            raise Overloaded("the PDF renderer restarted; try again", retry_after=5) from None
        finally:
            with self._lock:
                self._busy -= 1

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
