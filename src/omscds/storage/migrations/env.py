"""Alembic environment: always online, on the connection ``omscds.storage.database`` passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from omscds.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations through omscds.storage.migrate(), not the alembic CLI")
_run(_connection)
