"""Opening the registry database: URL resolution, engine setup, programmatic migrations.

The default is an embedded SQLite file under the user's data directory (``platformdirs``), in
WAL mode with foreign keys on; ``OMSCDS_DATABASE_URL`` or an explicit URL selects another file
or a PostgreSQL server (``postgresql+psycopg://…``). Migrations ship inside the package and run
without an ``alembic.ini``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from omscds.errors import StorageError

__all__ = [
    "ENV_VAR",
    "MIGRATIONS_DIR",
    "current_revision",
    "default_url",
    "head_revision",
    "make_engine",
    "migrate",
    "resolve_url",
]

ENV_VAR = "OMSCDS_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: how long a SQLite writer waits for another writer's lock before giving up
SQLITE_BUSY_TIMEOUT_MS = 30_000


def default_url() -> str:
    """``sqlite:///<user data dir>/omscds/registry.sqlite3``."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('omscds')) / 'registry.sqlite3'}"


def resolve_url(url: str | None = None) -> str:
    """An explicit URL, else ``$OMSCDS_DATABASE_URL``, else the default SQLite file.

    A bare path (no ``://``) is taken as a SQLite file.
    """
    chosen = url or os.environ.get(ENV_VAR) or default_url()
    if "://" not in chosen:
        chosen = f"sqlite:///{Path(chosen).expanduser().resolve()}"
    if chosen.startswith(("postgresql://", "postgres://")):
        chosen = "postgresql+psycopg://" + chosen.split("://", 1)[1]
    return chosen


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"not a database URL: {url!r}", path="database") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StorageError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql",
            path="database",
        )
    return parsed


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # transactions are begun explicitly below, so that writers take the lock up front
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE: take the write lock at BEGIN, so two writers queue instead of deadlocking
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    """Create the engine for ``url`` (resolved as in :func:`resolve_url`)."""
    parsed = _parse(resolve_url(url))
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise StorageError("an in-memory SQLite registry would be lost: give a file")
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        _sqlite_setup(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _alembic_config(engine_conn: Any, kb: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = engine_conn
    if kb is not None:
        cfg.attributes["kb"] = kb
    return cfg


def head_revision() -> str:
    """The newest schema revision this omscds knows."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StorageError("no migrations found in the package")
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database, or ``None`` if it was never initialised."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
            return None if row is None else str(row[0])
    except OperationalError as exc:
        raise StorageError(f"cannot open the database: {exc.orig}", path="database") from None


def migrate(engine: Engine, revision: str = "head", kb: Any = None) -> str:
    """Upgrade the schema to ``revision`` (default: the newest). Returns the revision reached."""
    from alembic import command

    try:
        with engine.connect() as conn:
            command.upgrade(_alembic_config(conn, kb), revision)
            conn.commit()
    except SQLAlchemyError as exc:
        raise StorageError(f"migration failed: {exc}", path="database") from None
    return current_revision(engine) or ""
