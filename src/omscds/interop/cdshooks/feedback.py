"""CDS Hooks feedback: accepted/overridden outcomes kept in SQLite (a file, or in memory).

Only card and suggestion uuids, the outcome, the override reason code/comment and timestamps
are stored: no patient data, no tokens. The uuids of the cards each service issued are kept
for ``ISSUED_DAYS`` so that feedback is accepted only for those cards (issue 11).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from typing import Any

from omscds.errors import NotFoundError, StorageError
from omscds.interop.cdshooks.models import Feedback

__all__ = ["ISSUED_DAYS", "FeedbackStore"]

#: how long an issued card can receive feedback (a clinician may act on it days later)
ISSUED_DAYS = 30
#: fewest seconds between two deletions of expired issued cards: each is a scan of the table,
#: which on every hook call cost a growing share of the call
PRUNE_INTERVAL_S = 60.0

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
);
CREATE TABLE IF NOT EXISTS cds_issued (
    service TEXT NOT NULL,
    card TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    PRIMARY KEY (service, card)
);
"""


class FeedbackStore:
    """Thread-safe SQLite store; ``path=None`` keeps it in memory for the process lifetime."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._pruned = -float("inf")
        try:
            self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
            if path:  # a file the workers of a host share: readers beside one writer, no
                # fsync per card issued (a crash loses at most the last cards' ids)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the feedback store: {exc}", path=path) from None

    def issue(self, service: str, cards: list[str]) -> None:
        """Remember the cards a service returned (and forget those past ``ISSUED_DAYS``)."""
        now = dt.datetime.now(dt.UTC)
        cutoff = (now - dt.timedelta(days=ISSUED_DAYS)).isoformat(timespec="seconds")
        stamp = now.isoformat(timespec="seconds")
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO cds_issued (service, card, issued_at) VALUES (?, ?, ?)",
                [(service, card, stamp) for card in cards],
            )
            if time.monotonic() - self._pruned >= PRUNE_INTERVAL_S:
                self._db.execute("DELETE FROM cds_issued WHERE issued_at < ?", (cutoff,))
                self._pruned = time.monotonic()
            self._db.commit()

    def record(self, service: str, items: list[Feedback]) -> int:
        """Store outcomes; NotFoundError when a card was not issued by this service."""
        cards = sorted({fb.card for fb in items})
        with self._lock:
            known = {
                row[0]
                for row in self._db.execute(
                    "SELECT card FROM cds_issued WHERE service = ? AND card IN "
                    f"({','.join('?' * len(cards))})",
                    (service, *cards),
                )
            }
        unknown = [card for card in cards if card not in known]
        if unknown:
            index = next(i for i, fb in enumerate(items) if fb.card == unknown[0])
            raise NotFoundError(
                f"card {unknown[0]!r} was not issued by {service}", path=f"feedback[{index}].card"
            )
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
