"""Writer processes for the reliability tests (loaded by path, run with multiprocessing)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from typing import Any


def write_visits(url: str, key: str, n: int, log_path: str | None = None) -> None:
    """Add ``n`` visits for ``key``; after each commit, append its number to ``log_path``."""
    from omscds.storage import open_registry

    reg = open_registry(url, actor=f"writer-{os.getpid()}")
    case: dict[str, Any] = {"age_months": 30, "findings": {"opsoclonus": "present"}}
    log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115
    try:
        for i in range(n):
            reg.add_visit(key, case, dt.date(2020, 1, 1) + dt.timedelta(days=i))
            if log:
                log.write(f"{i}\n")
                os.fsync(log.fileno())
    finally:
        if log:
            log.close()
        reg.close()


if __name__ == "__main__":  # pragma: no cover - manual use
    write_visits(sys.argv[1], sys.argv[2], int(sys.argv[3]))
