"""SQLite: one file, one writer at a time, and the write lock taken when a write transaction begins.

Why the set-up looks the way it does:

* ``isolation_level = None`` on the sqlite3 connection and our own ``BEGIN`` in the
  SQLAlchemy "begin" event: the sqlite3 module's legacy transaction control neither
  begins a transaction for SELECT or DDL nor lets us choose ``BEGIN IMMEDIATE``.
* ``BEGIN IMMEDIATE`` for writes: a deferred transaction that reads and then writes
  fails at once with SQLITE_BUSY_SNAPSHOT when another writer committed meanwhile,
  whatever the busy timeout; an immediate one waits for the write lock up front. So a
  write transaction already holds the database's write lock: nothing needs locking, and
  each statement runs at once (the defaults of :class:`~workflow.storage.dialects.base.Dialect`).
* WAL so readers never block the writer, ``synchronous=FULL`` so an acknowledged
  approval survives a power cut, foreign keys on, and a busy timeout long enough
  for a queue of writers.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from workflow.errors import DatabaseProblem
from workflow.storage.dialects.base import BEGIN_WRITE, Dialect, Sentences, driver_error, pool, said

SQLITE_HEADER = b"SQLite format 3\x00"
_BUSY = 5  # the primary result code; extended codes (BUSY_SNAPSHOT, ...) share the low byte
# A violation of the events table's unique constraints means another writer appended to the same
# chain first, so the whole transaction can be retried on the new head.
_CHAIN_HEAD_MESSAGES = (
    "UNIQUE constraint failed: events.chain, events.prev_hash",
    "UNIQUE constraint failed: events.chain, events.seq",
    "the chain already holds this event or its predecessor",  # migration 0005's BEFORE INSERT trigger
)

# sqlite3's words -> the sentence ({where}: the database file).
_WORDS: Sentences = (
    (("file is not a database",), "{where} is not a phasegate database (file is not a database)."),
    (("malformed",), "{where} is not a phasegate database (file is damaged)."),
    (("database or disk is full", "disk i/o error"),
     "cannot write the database {where}: the disk is full or failing."),
    (("readonly", "read-only"), "cannot write the database {where}: it is read-only."),
    (("unable to open database file",),
     "cannot open the database {where}: the file or its folder is missing or not accessible."),
    (("database is locked",), "the database {where} stayed locked by another process; try again."),
)


class SQLite(Dialect):
    """SQLite through the standard library's sqlite3."""

    name = "sqlite"
    paramstyle = "qmark"
    one_writer = True
    batch_migrations = True
    verifies_in_parallel = True  # each process reads the file itself (PostgreSQL's collation may differ)

    # -- opening -----------------------------------------------------------------------------------

    def database_file(self, url: URL) -> Path | None:
        """The file an SQLite URL names, or None for in-memory and URI-mode databases."""
        database = url.database
        if not database or database == ":memory:":
            return None
        if str(url.query.get("uri", "")).lower() in ("true", "1"):
            return None
        return Path(database)

    def exists(self, url: URL) -> bool:
        path = self.database_file(url)
        return path is not None and path.exists()

    def describe(self, url: URL) -> str:
        return url.database or "the in-memory database"

    def create_engine(self, url: URL, *, create: bool, pool_size: int | None, pool_wait: float | None
                      ) -> Engine:
        from workflow.storage.database import lock_wait_seconds, sqlite_cache_kib

        path = self.database_file(url)
        if path is not None:
            _check_file(path)
            engine = create_engine(url, **pool(pool_size, pool_wait))
        else:
            engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see "begin" below)
            cursor = dbapi_connection.cursor()
            try:
                # busy_timeout first: switching to WAL needs a lock another process may hold.
                cursor.execute(f"PRAGMA busy_timeout={int(lock_wait_seconds() * 1000)}")
                if create:  # WAL is written into the file's header: only when phasegate may write
                    _switch_to_wal(cursor, lock_wait_seconds())
                cursor.execute("PRAGMA synchronous=FULL")
                # A 32 MiB page cache (default 2 MiB) holds the B-tree interior pages of a database
                # with millions of events, so reading one project does not re-read them from the OS
                # on every query (benchmarks/results.md, "Reading at scale").
                cursor.execute(f"PRAGMA cache_size=-{sqlite_cache_kib()}")
                cursor.execute("PRAGMA foreign_keys=ON")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                return  # begun already, on the DBAPI connection (begin_write), by a command
            _begin(conn, "BEGIN IMMEDIATE" if BEGIN_WRITE.get() else "BEGIN")

        return engine

    def begin_write(self, conn: Connection) -> None:
        # On the DBAPI connection, not SQLAlchemy's transaction (connections.CommandTransaction).
        _begin(conn, "BEGIN IMMEDIATE")

    # -- failures ----------------------------------------------------------------------------------

    def raised(self, orig: BaseException) -> bool:
        return type(orig).__module__ == "sqlite3"

    def is_busy(self, exc: BaseException) -> bool:
        orig = driver_error(exc)
        code = getattr(orig, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == _BUSY) or "database is locked" in str(orig)

    def is_retryable(self, exc: BaseException) -> bool:
        if self.is_busy(exc):
            return True
        orig = driver_error(exc)
        is_integrity = isinstance(exc, IntegrityError) or type(orig).__name__ == "IntegrityError"
        return is_integrity and any(m in str(orig) for m in _CHAIN_HEAD_MESSAGES)

    def where(self, url: URL | None) -> str:
        return (url.database if url is not None else None) or "the database"

    def problem(self, where: str, message: str, orig: BaseException, first_line: str) -> DatabaseProblem:
        found = said(_WORDS, message, where=where)
        if found is not None:
            return found
        return DatabaseProblem(f"the database {where} failed: {first_line.rstrip('.')}.")


def _begin(conn: Connection, sql: str) -> None:
    """``sql`` (a BEGIN) on the DBAPI connection directly: exec_driver_sql would be a sizeable part
    of every command. Listeners still see the statement, as they see the write path's."""
    dbapi_connection = conn.connection.dbapi_connection
    try:
        if conn.dispatch.before_cursor_execute:
            conn.dispatch.before_cursor_execute(conn, None, sql, (), None, False)
        dbapi_connection.execute(sql)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        gone = conn.dialect.is_disconnect(exc, dbapi_connection, None)  # type: ignore[arg-type]
        if gone:
            conn.invalidate(exc)
        raise DBAPIError.instance(sql, (), exc, sqlite3.Error, connection_invalidated=gone) from exc


def _check_file(path: Path) -> None:
    """Refuse, before SQLite opens (and possibly writes) anything, a path that cannot be ours."""
    if path.is_dir():
        raise DatabaseProblem(f"{path} is a folder, not a phasegate database file.")
    if not path.exists():
        if not path.parent.is_dir():
            raise DatabaseProblem(
                f"cannot create the database {path}: the folder {path.parent} does not exist."
            )
        return
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except PermissionError as exc:
        raise DatabaseProblem(f"cannot open the database {path}: permission denied.") from exc
    except OSError as exc:
        raise DatabaseProblem(f"cannot open the database {path}: {exc.strerror or exc}.") from exc
    if header and header != SQLITE_HEADER:
        raise DatabaseProblem(f"{path} is not a phasegate database (file is not a database).")


def _switch_to_wal(cursor: Any, wait: float) -> None:
    """Put a new (or phasegate's) database file in WAL mode, waiting for other first users.

    Two processes opening a new file at once can each hold a shared lock while asking
    for the exclusive one the switch needs; SQLite then answers one of them "database is
    locked" at once instead of waiting (waiting would deadlock). That one lets go and
    tries again, until the busy timeout (``wait`` seconds).
    """
    deadline = time.monotonic() + wait
    while True:
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() == "wal" or not _may_switch_to_wal(cursor):
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01 * random.uniform(0.5, 1.5))


def _may_switch_to_wal(cursor: Any) -> bool:
    """WAL is a persistent property of the file: set it on new or phasegate files only.

    Switching rewrites the header, so a database that belongs to somebody else (and is
    about to be refused by the schema check) stays untouched.
    """
    cursor.execute("PRAGMA page_count")
    if cursor.fetchone()[0] == 0:
        return True
    cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
    return bool(cursor.fetchone()[0])
