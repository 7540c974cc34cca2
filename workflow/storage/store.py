"""phasegate's database as the engine sees it: one object to open, run transactions on, and close."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from workflow.storage import dialects, transaction
from workflow.storage.connections import HeldConnection
from workflow.storage.database import open_database, shown_url
from workflow.storage.migrate import ensure_schema
from workflow.storage.templates import TemplateCache
from workflow.storage.transaction import ReadTx, WriteTx

R = TypeVar("R")


class Store:
    """The SQLAlchemy engine, its dialect, the held connection and the compiled templates.

    ``Store(url)`` opens the database and brings its schema to this phasegate's head;
    ``migrated`` says whether that ran a migration; ``on_create`` runs in the same
    transaction as a migration (nothing is half set up after a crash). The command bodies get a
    :class:`WriteTx` or :class:`ReadTx` from :meth:`write`, :meth:`read` or :meth:`snapshot`.
    ``sqlalchemy`` and :meth:`connect` are for tools and tests that look under the engine.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        on_create: Callable[[WriteTx], object] | None = None,
        create: bool = True,
        pool_size: int | None = None,
        pool_wait: float | None = None,
    ) -> None:
        self.sqlalchemy: Engine = open_database(url, create=create, pool_size=pool_size, pool_wait=pool_wait)
        self.url = shown_url(self.sqlalchemy.url)
        self.dialect = dialects.of(self.sqlalchemy)
        self.templates = TemplateCache()
        self.held = HeldConnection(self.sqlalchemy)

        def created(conn: Connection) -> None:  # in the migration's transaction
            if on_create is not None:
                on_create(WriteTx(conn, self.dialect, self.templates))

        try:
            self.migrated = ensure_schema(self.sqlalchemy, then=created, create=create)
        except BaseException:
            self.close()
            raise

    def write(self, work: Callable[[WriteTx], R]) -> R:
        return transaction.run_write(self, work)

    def read(self, work: Callable[[ReadTx], R]) -> R:
        return transaction.run_read(self, work)

    def snapshot(self, work: Callable[[ReadTx], R]) -> R:
        return transaction.run_snapshot(self, work)

    def connect(self) -> Connection:
        """A plain SQLAlchemy connection of the engine's pool (for tools and tests)."""
        return self.sqlalchemy.connect()

    def close(self) -> None:
        self.held.drop()
        self.sqlalchemy.dispose()

    def __del__(self) -> None:
        # A Store dropped without close(): give the held connection back instead of leaving it to
        # the garbage collector (SQLAlchemy warns about that).
        with contextlib.suppress(Exception):
            self.held.drop()
