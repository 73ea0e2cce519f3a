"""Alembic's environment: run by `nbtrack.server.db.migrate` with the connection it made."""

from __future__ import annotations

from alembic import context

from nbtrack.server.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: Alembic rebuilds the table in a batch instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
