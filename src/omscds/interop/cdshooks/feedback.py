"""CDS Hooks feedback: accepted/overridden outcomes kept in SQLite (a file, or in memory).

Only card and suggestion uuids, the outcome, the override reason code/comment and timestamps
are stored: no patient data, no tokens.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from typing import Any

from omscds.errors import StorageError
from omscds.interop.cdshooks.models import Feedback

__all__ = ["FeedbackStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cds_feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    card TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
    accepted_suggestions TEXT NOT NULL DEFAULT '',
    override_code TEXT,
    override_comment TEXT,
    outcome_timestamp TEXT NOT NULL,
    received_at TEXT NOT NULL
)
"""


class FeedbackStore:
    """Thread-safe SQLite store; ``path=None`` keeps it in memory for the process lifetime."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the feedback store: {exc}", path=path) from None

    def record(self, service: str, items: list[Feedback]) -> int:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        rows = []
        for fb in items:
            reason = fb.overrideReason
            code = None
            if reason and isinstance(reason.reason, dict):
                code = str(reason.reason.get("code") or "") or None
            rows.append(
                (
                    service,
                    fb.card,
                    fb.outcome,
                    ",".join(s.id for s in fb.acceptedSuggestions or ()),
                    code,
                    reason.userComment if reason else None,
                    fb.outcomeTimestamp,
                    now,
                )
            )
        with self._lock:
            self._db.executemany(
                "INSERT INTO cds_feedback (service, card, outcome, accepted_suggestions, "
                "override_code, override_comment, outcome_timestamp, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.commit()
        return len(rows)

    def summary(self) -> dict[str, Any]:
        """Counts per service and outcome, and per override reason."""
        with self._lock:
            outcomes = self._db.execute(
                "SELECT service, outcome, COUNT(*) FROM cds_feedback GROUP BY service, outcome"
            ).fetchall()
            reasons = self._db.execute(
                "SELECT override_code, COUNT(*) FROM cds_feedback "
                "WHERE override_code IS NOT NULL GROUP BY override_code"
            ).fetchall()
        out: dict[str, Any] = {"services": {}, "override_reasons": dict(reasons)}
        for service, outcome, n in outcomes:
            out["services"].setdefault(service, {})[outcome] = n
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
