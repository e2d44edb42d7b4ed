"""The feedback store: issued card ids written behind, and never lost."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from omscds.errors import NotFoundError, StorageError
from omscds.interop.cdshooks import feedback as fbmod
from omscds.interop.cdshooks.feedback import FLUSH_S, FeedbackStore
from omscds.interop.cdshooks.models import Feedback

SERVICE = "omscds-patient-view"
CARD = "0f6a3c36-6a8e-4f8b-9f57-2f1d8f0c1a11"


def _accepted(card: str) -> Feedback:
    return Feedback.model_validate(
        {
            "card": card,
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "s1"}],
            "outcomeTimestamp": "2026-12-03T08:00:00Z",
        }
    )


def _issued_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM cds_issued").fetchone()[0])


def test_own_cards_are_known_at_once(tmp_path: Path) -> None:
    store = FeedbackStore(str(tmp_path / "fb.sqlite"))
    store.issue(SERVICE, [CARD])
    assert store.record(SERVICE, [_accepted(CARD)]) == 1  # the read commits what is held
    with pytest.raises(NotFoundError):
        store.record("omscds-order-select", [_accepted(CARD)])
    store.close()


def test_another_worker_sees_them_within_the_flush_time(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite"
    issuing, other = FeedbackStore(str(path)), FeedbackStore(str(path))
    issuing.issue(SERVICE, [CARD])
    assert _issued_rows(path) == 0  # written behind, not on the hook's path
    deadline = time.monotonic() + FLUSH_S * 20
    while _issued_rows(path) == 0 and time.monotonic() < deadline:
        time.sleep(FLUSH_S / 5)
    assert _issued_rows(path) == 1  # the timer committed it with no further call
    assert other.record(SERVICE, [_accepted(CARD)]) == 1
    issuing.close()
    other.close()


def test_issuing_never_waits_for_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite"
    store = FeedbackStore(str(path))
    store._db.execute("PRAGMA busy_timeout = 0")  # fail at once rather than after 5 s
    locker = sqlite3.connect(path, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")  # another worker holds the write lock
    t0 = time.monotonic()
    store.issue(SERVICE, [CARD])
    assert time.monotonic() - t0 < FLUSH_S  # the hook only appended to a list
    time.sleep(FLUSH_S * 3)  # the timer tried, failed, kept the id and tries again
    locker.rollback()
    locker.close()
    deadline = time.monotonic() + FLUSH_S * 20
    while _issued_rows(path) == 0 and time.monotonic() < deadline:
        time.sleep(FLUSH_S / 5)
    assert _issued_rows(path) == 1  # committed by a later tick, with no further call
    store.close()


def test_close_commits_what_is_held(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fbmod, "FLUSH_S", 3600.0)
    path = tmp_path / "fb.sqlite"
    store = FeedbackStore(str(path))
    store.issue(SERVICE, [CARD, "second"])
    store.close()
    assert _issued_rows(path) == 2
    again = FeedbackStore(str(path))
    assert again.record(SERVICE, [_accepted(CARD)]) == 1
    again.close()


def test_a_failed_commit_keeps_the_ids(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fbmod, "FLUSH_S", 3600.0)
    path = tmp_path / "fb.sqlite"
    store = FeedbackStore(str(path))
    store.issue(SERVICE, [CARD])
    locker = sqlite3.connect(path, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    store._db.execute("PRAGMA busy_timeout = 0")
    with pytest.raises(StorageError, match="cannot record the issued cards"):
        store.flush()
    locker.rollback()
    locker.close()
    assert store.record(SERVICE, [_accepted(CARD)]) == 1  # still held, committed now
    store.close()


def test_expired_cards_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite"
    store = FeedbackStore(str(path))
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO cds_issued (service, card, issued_at) VALUES (?, ?, ?)",
            (SERVICE, "old", "2000-01-01T00:00:00+00:00"),
        )
    store.issue(SERVICE, [CARD])
    store.flush()
    with pytest.raises(NotFoundError):
        store.record(SERVICE, [_accepted("old")])
    assert store.record(SERVICE, [_accepted(CARD)]) == 1
    store.close()


# -- PostgreSQL: the store every host shares ---------------------------------------------------


def test_a_card_issued_on_one_host_gets_its_feedback_on_another(pg_url: str) -> None:
    """Two stores on one PostgreSQL database are two hosts behind the proxy: feedback for a card
    that host A issued is accepted on host B (with a SQLite file per host it was refused)."""
    import psycopg

    host_a, host_b = FeedbackStore(pg_url), FeedbackStore(pg_url)
    host_a.issue(SERVICE, [CARD])
    host_a.flush()
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:  # in the server, no file
        assert conn.execute("SELECT card FROM cds_issued").fetchall() == [(CARD,)]
    assert host_b.record(SERVICE, [_accepted(CARD)]) == 1
    with pytest.raises(NotFoundError, match="was not issued"):
        host_b.record(SERVICE, [_accepted("never-issued")])
    with pytest.raises(NotFoundError):
        host_b.record("omscds-order-select", [_accepted(CARD)])
    host_a.issue(SERVICE, ["second"])
    host_a.close()  # commits what it still held
    assert host_b.record(SERVICE, [_accepted("second")]) == 1
    assert host_b.summary()["services"] == {SERVICE: {"accepted": 2}}
    host_b.close()
    again = FeedbackStore(pg_url)  # the tables exist: opened as they are, nothing lost
    assert again.summary()["services"] == {SERVICE: {"accepted": 2}}
    again.close()


def test_a_broken_postgres_connection_keeps_the_ids_and_reconnects(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    monkeypatch.setattr(fbmod, "FLUSH_S", 3600.0)  # no timer flush: this test flushes
    store = FeedbackStore(pg_url)
    store.issue(SERVICE, [CARD])
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        ended = conn.execute(  # the server ends the store's connection (a restart, a failover)
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert ended == [(True,)]
    with pytest.raises(StorageError, match="cannot record the issued cards"):
        store.flush()  # the connection is gone: the ids stay in memory
    store.flush()  # a new connection commits them
    assert store.record(SERVICE, [_accepted(CARD)]) == 1
    store.close()


def test_an_unreachable_postgres_is_a_storage_error_without_the_url(pg_server: Any) -> None:
    url = pg_server.url("no_such_database").replace("postgres@", "postgres:secret-pw@")
    with pytest.raises(StorageError) as info:
        FeedbackStore(url)
    assert "secret-pw" not in str(info.value) and info.value.path == "PostgreSQL"
