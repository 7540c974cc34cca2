"""Alembic environment for phasegate.

phasegate runs migrations from code (``workflow/storage/migrate.py``) over a
connection it already holds, locked and inside a transaction, and passes it in
``config.attributes["connection"]``. Without one (a developer running
``alembic_config(url=...)`` with alembic's commands), an engine is built from the
``sqlalchemy.url`` option.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from workflow.storage import dialects
from workflow.storage.tables import metadata

config = context.config
target_metadata = metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=dialects.of(connection).batch_migrations,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller owns the transaction (and the lock): begin_transaction() is a no-op here.
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url (alembic_config(url=...)) or pass a connection")
    from workflow.storage.connections import write_transaction
    from workflow.storage.database import open_database

    engine = open_database(url)
    try:
        with write_transaction(engine) as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
