"""Opening the registry database: URL resolution, engine setup, programmatic migrations.

The default is an embedded SQLite file under the user's data directory (``platformdirs``), in
WAL mode with foreign keys on; an explicit URL (the callers pass ``OMSCDS_DATABASE_URL`` from
their settings) selects another file or a PostgreSQL server (``postgresql+psycopg://…``). Migrations ship inside the package and run
without an ``alembic.ini``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from omscds.errors import StorageError

__all__ = [
    "APP_TABLES",
    "ENV_VAR",
    "MIGRATIONS_DIR",
    "READ_ONLY",
    "SQLITE_BUSY_TIMEOUT_MS",
    "audit_guard_warning",
    "current_revision",
    "db_reason",
    "default_url",
    "grant_app_role",
    "head_revision",
    "make_engine",
    "migrate",
    "resolve_url",
]

#: the variable that names the registry; read by the settings class (never by this layer)
ENV_VAR = "OMSCDS_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: how long a SQLite writer waits for another writer's lock before giving up
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: tables the application role may read and append to (and nothing else)
APP_TABLES = ("patients", "visits", "treatments", "relapses", "assessments", "audit_log")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_READ_OPTION = "omscds_read_only"
#: execution options of a connection that only reads (SQLite: no write lock at BEGIN)
READ_ONLY: dict[str, Any] = {_READ_OPTION: True}


def db_reason(exc: BaseException) -> str:
    """The database's own one-line reason for a failure, without SQL or parameters.

    SQLAlchemy's text of an error carries the statement and its parameters (a whole case
    snapshot, a patient key); a disk-full or lock error must never print those.
    """
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if isinstance(primary, str) and primary:
        return primary[:200]
    lines = str(orig).strip().splitlines()
    first = lines[0] if lines else type(orig).__name__
    return first.split(" [SQL:", 1)[0][:200]


def default_url() -> str:
    """``sqlite:///<user data dir>/omscds/registry.sqlite3``."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('omscds')) / 'registry.sqlite3'}"


def resolve_url(url: str | None = None) -> str:
    """An explicit URL, else the default SQLite file (the service and the command line pass
    ``OMSCDS_DATABASE_URL`` from their one settings class; this layer reads no environment).

    A bare path (no ``://``) is taken as a SQLite file.
    """
    chosen = url or default_url()
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


def _sqlite_setup(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # transactions are begun explicitly below, so that writers take the lock up front
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE: take the write lock at BEGIN, so two writers queue instead of deadlocking;
        # reads (READ_ONLY) begin deferred and, in WAL mode, never wait for a writer
        read = conn.get_execution_options().get(_READ_OPTION)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def make_engine(url: str | None = None, *, busy_timeout_s: float | None = None) -> Engine:
    """Create the engine for ``url`` (resolved as in :func:`resolve_url`).

    ``busy_timeout_s`` (SQLite): how long a writer waits for another writer's lock; default
    :data:`SQLITE_BUSY_TIMEOUT_MS`. A service answering web requests may want it shorter.
    """
    if busy_timeout_s is not None and not 0 <= busy_timeout_s <= 600:
        raise StorageError("the busy timeout is between 0 and 600 s", path="busy_timeout_s")
    parsed = _parse(resolve_url(url))
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise StorageError("an in-memory SQLite registry would be lost: give a file")
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error's text never carries case JSON or patient keys
        engine = create_engine(parsed, hide_parameters=True)
        timeout_ms = (
            SQLITE_BUSY_TIMEOUT_MS if busy_timeout_s is None else int(busy_timeout_s * 1000)
        )
        _sqlite_setup(engine, timeout_ms)
        return engine
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


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
            conn.execution_options(**READ_ONLY)
            if not inspect(conn).has_table("alembic_version"):
                return None
            row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
            return None if row is None else str(row[0])
    except OperationalError as exc:
        raise StorageError(f"cannot open the database: {db_reason(exc)}", path="database") from None


def migrate(engine: Engine, revision: str = "head", kb: Any = None) -> str:
    """Upgrade the schema to ``revision`` (default: the newest). Returns the revision reached."""
    from alembic import command

    try:
        with engine.connect() as conn:
            command.upgrade(_alembic_config(conn, kb), revision)
            conn.commit()
    except SQLAlchemyError as exc:
        raise StorageError(f"migration failed: {db_reason(exc)}", path="database") from None
    return current_revision(engine) or ""


def grant_app_role(engine: Engine, role: str) -> None:
    """PostgreSQL: let ``role`` (the service's login) read and append, and nothing more.

    Run as the owner of the tables, after :func:`migrate`. The role gets SELECT and INSERT on
    the registry tables, SELECT on ``alembic_version`` and USAGE on the id sequences; it must
    not own the tables or be a superuser, since an owner can disable the audit triggers.
    """
    if engine.dialect.name != "postgresql":
        raise StorageError("database roles are a PostgreSQL feature", path="app_role")
    if not _ROLE.match(role):
        raise StorageError(
            "a role name is lower-case letters, digits and _ (at most 63)", path="app_role"
        )
    try:
        with engine.begin() as conn:
            found = conn.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).first()
            if found is None:
                raise StorageError(f"no database role {role!r}: create it first", path="app_role")
            if found[0]:
                raise StorageError(f"role {role!r} is a superuser", path="app_role")
            owned = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tableowner = :r"
                ),
                {"r": role},
            ).first()
            if owned is not None:
                raise StorageError(
                    f"role {role!r} owns table {owned[0]}: run migrations as another role "
                    "(ALTER TABLE … OWNER TO the owner role)",
                    path="app_role",
                )
            quoted = f'"{role}"'
            tables = ", ".join(APP_TABLES)
            conn.execute(text(f"GRANT USAGE ON SCHEMA {_schema(conn)} TO {quoted}"))
            conn.execute(text(f"REVOKE ALL ON {tables}, alembic_version FROM {quoted}"))
            conn.execute(text(f"GRANT SELECT, INSERT ON {tables} TO {quoted}"))
            conn.execute(text(f"GRANT SELECT ON alembic_version TO {quoted}"))
            for table in APP_TABLES:
                seq = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
                ).scalar()
                if seq:
                    conn.execute(text(f"GRANT USAGE ON SEQUENCE {seq} TO {quoted}"))
    except SQLAlchemyError as exc:
        raise StorageError(f"granting failed: {db_reason(exc)}", path="app_role") from None


def audit_guard_warning(engine: Engine) -> str | None:
    """PostgreSQL: a warning if the connected role could change audit rows (it owns the table,
    is a superuser or holds UPDATE/DELETE/TRUNCATE on it); None when it cannot, or on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.connect() as conn:
            conn.execution_options(**READ_ONLY)
            row = conn.execute(
                text(
                    "SELECT current_user, "
                    "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
                    "pg_has_role(current_user, (SELECT tableowner FROM pg_tables "
                    " WHERE schemaname = current_schema() AND tablename = 'audit_log'), 'USAGE'), "
                    "has_table_privilege('audit_log', 'UPDATE') "
                    "OR has_table_privilege('audit_log', 'DELETE') "
                    "OR has_table_privilege('audit_log', 'TRUNCATE')"
                )
            ).one()
    except SQLAlchemyError as exc:
        return f"could not check the audit log's privileges: {db_reason(exc)}"
    user, superuser, owner, writes = row
    if superuser or owner or writes:
        why = "is a superuser" if superuser else "owns audit_log" if owner else "may change rows"
        return (
            f"role {user} {why}: it could rewrite the audit log; run the service as a role "
            "with SELECT and INSERT only (omscds registry init --app-role ROLE, as the owner)"
        )
    return None


def _schema(conn: Any) -> str:
    name = str(conn.execute(text("SELECT current_schema()")).scalar_one())
    return '"' + name.replace('"', '""') + '"'
