"""CDS Hooks feedback: accepted/overridden outcomes kept in a database (``feedback_db``: a
SQLite file the workers of one host share, SQLite in memory, or PostgreSQL for several hosts).

Only card and suggestion uuids, the outcome, the override reason code/comment and timestamps
are stored: no patient data, no tokens. The uuids of the cards each service issued are kept
for ``ISSUED_DAYS`` so that feedback is accepted only for those cards (issue 11).

Issued card ids are written behind: kept in memory and committed together by a timer thread
at most ``FLUSH_S`` after the first of them, and before any read of this store, so a process
always sees its own cards (a commit that fails is retried; nothing is dropped). Another
worker sharing the database sees them up to ``FLUSH_S`` later; feedback comes after a clinician
has acted on a card, seconds at least. One commit per hook call cost about 0.4 ms of CPU.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from omscds.errors import NotFoundError, StorageError
from omscds.interop.cdshooks.feedback_db import Db, OpenError, connect, is_postgres
from omscds.interop.cdshooks.models import Feedback

__all__ = ["FLUSH_S", "ISSUED_DAYS", "FeedbackStore"]

log = logging.getLogger("omscds.cds")

#: how long an issued card can receive feedback (a clinician may act on it days later)
ISSUED_DAYS = 30
#: fewest seconds between two deletions of expired issued cards: each is a scan of the table,
#: which on every hook call cost a growing share of the call
PRUNE_INTERVAL_S = 60.0
#: longest time an issued card id waits in memory before it is committed
FLUSH_S = 0.25


class FeedbackStore:
    """Thread-safe store; ``path``: a SQLite file, a PostgreSQL URL, or None (in memory for
    the process lifetime)."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()  # the connection
        self._pending_lock = threading.Lock()  # the ids not yet committed
        self._pruned = -float("inf")
        self._pending: list[tuple[str, str, str]] = []
        self._timer: threading.Timer | None = None
        self._closed = False
        self._db: Db
        try:
            self._db = connect(path)
        except OpenError as exc:  # never the URL: it may hold a password
            where = "PostgreSQL" if is_postgres(path) else path
            raise StorageError(f"cannot open the feedback store: {exc}", path=where) from None

    def issue(self, service: str, cards: list[str]) -> None:
        """Remember the cards a service returned (and forget those past ``ISSUED_DAYS``).

        Written behind (the module's note): a timer thread commits them within ``FLUSH_S``;
        the caller (the hook, on the event loop) only appends to a list under its own lock,
        never waiting for the database or the file's write lock.
        """
        if not cards:
            return
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._pending_lock:
            self._pending.extend((service, card, stamp) for card in cards)
            if self._timer is None and not self._closed:
                self._start_timer()

    def flush(self) -> None:
        """Commit the issued card ids held in memory (reads and ``close`` call it first).

        StorageError if the commit fails; the ids stay in memory for the next try.
        """
        with self._pending_lock:
            rows, self._pending = self._pending, []
        if not rows:
            return
        try:
            with self._lock:
                self._commit_issued(rows)
        except self._db.errors as exc:
            with self._pending_lock:
                self._pending[:0] = rows  # kept for the next try: nothing lost
            raise StorageError(f"cannot record the issued cards: {exc}") from None

    def _start_timer(self) -> None:  # under _pending_lock
        self._timer = threading.Timer(FLUSH_S, self._flush_on_time)
        self._timer.daemon = True
        self._timer.start()

    def _flush_on_time(self) -> None:
        with self._pending_lock:
            self._timer = None  # ids issued from now on start the next timer
        try:
            self.flush()
        except StorageError as exc:  # kept in memory, tried again on the next tick
            log.warning("issued card ids not committed yet: %s", exc.message)
            with self._pending_lock:
                if self._pending and self._timer is None and not self._closed:
                    self._start_timer()

    def _commit_issued(self, rows: list[tuple[str, str, str]]) -> None:  # under _lock
        try:
            self._db.executemany(
                "INSERT INTO cds_issued (service, card, issued_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                rows,
            )
            if time.monotonic() - self._pruned >= PRUNE_INTERVAL_S:
                cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=ISSUED_DAYS)
                self._db.execute(
                    "DELETE FROM cds_issued WHERE issued_at < ?",
                    (cutoff.isoformat(timespec="seconds"),),
                )
                self._pruned = time.monotonic()
            self._db.commit()
        except self._db.errors:
            with contextlib.suppress(*self._db.errors):
                self._db.rollback()
            raise

    def record(self, service: str, items: list[Feedback]) -> int:
        """Store outcomes; NotFoundError when a card was not issued by this service."""
        cards = sorted({fb.card for fb in items})
        self.flush()  # this process's own cards first
        with self._lock, self._storage_errors("cannot read the issued cards"):
            known = {
                row[0]
                for row in self._db.execute(
                    "SELECT card FROM cds_issued WHERE service = ? AND card IN "
                    f"({','.join('?' * len(cards))})",
                    (service, *cards),
                ).fetchall()
            }
            self._db.commit()  # ends the read (PostgreSQL: no transaction left open)
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
        with self._lock, self._storage_errors("cannot record the feedback"):
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
        with self._lock, self._storage_errors("cannot read the feedback"):
            outcomes = self._db.execute(
                "SELECT service, outcome, COUNT(*) FROM cds_feedback GROUP BY service, outcome"
            ).fetchall()
            reasons = self._db.execute(
                "SELECT override_code, COUNT(*) FROM cds_feedback "
                "WHERE override_code IS NOT NULL GROUP BY override_code"
            ).fetchall()
            self._db.commit()
        out: dict[str, Any] = {"services": {}, "override_reasons": dict(reasons)}
        for service, outcome, n in outcomes:
            out["services"].setdefault(service, {})[outcome] = n
        return out

    @contextlib.contextmanager
    def _storage_errors(self, what: str) -> Iterator[None]:  # under _lock
        """The database's own errors as StorageError (503 in the one error table), rolled back."""
        try:
            yield
        except self._db.errors as exc:
            with contextlib.suppress(*self._db.errors):
                self._db.rollback()
            raise StorageError(f"{what}: {exc}") from None

    def close(self) -> None:
        """Commit what is held in memory, then close (the app's shutdown calls it)."""
        with self._pending_lock:
            self._closed = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        try:
            self.flush()
        finally:
            with self._lock:
                self._db.close()
