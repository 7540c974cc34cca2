"""Connections and transactions: the held connection, and one transaction as a context manager.

SQLite's write transactions are ``BEGIN IMMEDIATE`` (chosen by
:data:`workflow.storage.dialects.base.BEGIN_WRITE`, read by SQLite's "begin" listener).
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager
from weakref import WeakSet

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from workflow.storage import dbapi, dialects
from workflow.storage.dialects.base import BEGIN_WRITE, Dialect
from workflow.storage.failures import is_retryable, translate_error

# Connections a forked child inherited with an Engine: kept, never used or closed, so that
# neither the garbage collector nor SQLAlchemy touches the parent's database handles.
_INHERITED: list[Connection] = []


class HeldConnection:
    """The one connection the thread that opened an Engine keeps between its calls.

    Checking a connection out of the pool and back in, with SQLAlchemy's bookkeeping around
    it, is a noticeable part of every command (benchmarks/results.md). The thread
    that created the Engine (a CLI run, a script, a benchmark) therefore keeps one
    connection between calls; no transaction is ever open between calls. Other threads
    check connections out of the pool per call, so many threads never exhaust it. Any
    error drops the held connection (back to the pool, or discarded if it was invalidated).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._owner = threading.get_ident()
        self._conn: Connection | None = None
        _watch_forks(self)

    def take(self) -> Connection | None:
        """The held connection (opened on first use), or None on another thread."""
        if threading.get_ident() != self._owner:
            return None
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                self.drop()
            try:
                conn = self._conn = self._engine.connect()
            except DBAPIError as exc:
                raise translate_error(exc, self._engine.url) from exc
        return conn

    @property
    def connection(self) -> Connection | None:
        """The connection held now, if any (for tests: opens nothing)."""
        return self._conn

    def drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _forked(self) -> None:
        """In a child process (run by ``os.register_at_fork`` for every Engine alive at the fork):
        the parent's connections are neither used nor closed here.

        A database connection must not cross fork(): the held one is set aside for good and
        the pool forgets the parent's connections, checked in or out, without closing them
        (SQLAlchemy's ``dispose(close=False)``), so the child opens its own on any thread.
        """
        if self._conn is not None:
            _INHERITED.append(self._conn)
            self._conn = None
        self._engine.dispose(close=False)


_HOLDERS: WeakSet[HeldConnection] = WeakSet()


def _after_fork_in_child() -> None:
    for holder in list(_HOLDERS):
        holder._forked()


_fork_hook_registered = False


def _watch_forks(holder: HeldConnection) -> None:
    """Remember ``holder`` for :func:`_after_fork_in_child`; the hook is registered with the first one."""
    global _fork_hook_registered
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_registered = True
    _HOLDERS.add(holder)


def write_transaction(engine: Engine, held: HeldConnection | None = None) -> Transaction:
    """``with write_transaction(engine) as conn``: a write transaction (SQLite: BEGIN IMMEDIATE),
    committed on success.

    Failing to connect becomes :class:`DatabaseProblem`; errors inside the block come
    out as they are so the caller can ask :func:`is_retryable`.
    """
    return Transaction(engine, True, held)


def read_transaction(engine: Engine, held: HeldConnection | None = None) -> Transaction:
    """``with read_transaction(engine) as conn``: a read transaction (one consistent snapshot on
    SQLite), rolled back at the end."""
    return Transaction(engine, False, held)


def snapshot_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """``with snapshot_transaction(engine) as conn``: a read transaction that sees one consistent
    snapshot on every backend.

    The engine's ordinary reads run at READ COMMITTED on PostgreSQL (its writers need
    that). Reads that walk many rows and compare them with each other — verifying the
    chains against the project heads, a checkpoint, an export, a replay — must not see
    a write land halfway through: the dialect begins them in one snapshot (REPEATABLE READ
    on PostgreSQL; SQLite's deferred read transaction in WAL mode already is one).
    """
    return dialects.of(engine).snapshot(engine, read_transaction(engine))


def command_transaction(engine: Engine, held: HeldConnection | None, dialect: Dialect) -> CommandTransaction:
    """``with command_transaction(...) as conn``: :func:`write_transaction` for the retry loop,
    begun and committed on the DBAPI connection (see :class:`CommandTransaction`)."""
    return CommandTransaction(engine, held, dialect)


def _checkout(engine: Engine, held: HeldConnection | None) -> tuple[Connection, HeldConnection | None]:
    """The held connection when it is free, else one from the pool (and no held one to give back)."""
    conn = held.take() if held is not None else None
    if conn is None:
        try:
            return engine.connect(), None
        except DBAPIError as exc:
            raise translate_error(exc, engine.url) from exc
    return conn, held


class _OnConnection:
    """What both transactions do with their connection: take it (the held one when free, else a pooled
    one), begin, and give it back: a pooled one always goes back to the pool, a held one is dropped
    after any error."""

    __slots__ = ("_conn", "_engine", "_held")

    _engine: Engine
    _held: HeldConnection | None
    _conn: Connection

    def _take(self) -> Connection:
        self._conn, self._held = _checkout(self._engine, self._held)
        return self._conn

    def _begin_failed(self, exc: BaseException) -> None:
        """The BEGIN failed: the connection goes; an error a retry cannot help is said in our words
        (else the caller re-raises it, and may run the transaction again)."""
        self._release(failed=True)
        if isinstance(exc, DBAPIError) and not (is_retryable(exc) or exc.connection_invalidated):
            raise translate_error(exc, self._engine.url) from exc

    def _release(self, *, failed: bool) -> None:
        if self._held is None:
            self._conn.close()
        elif failed:
            self._held.drop()


class CommandTransaction(_OnConnection):
    """A write transaction begun and ended on the DBAPI connection, under SQLAlchemy's Connection.

    SQLAlchemy's own transaction (a ``RootTransaction``, its "begin" and "commit" events, the
    calls between) costs a command more than its BEGIN and COMMIT do (benchmarks/results.md):
    the write path's statements already go to the DBAPI cursor (dbapi.py), so the transaction
    around them does too, firing the same hooks by hand: ``before_cursor_execute`` for the
    BEGIN (``Dialect.begin_write``), the ``commit`` event and the dialect's ``do_commit`` for
    the COMMIT, as SQLAlchemy would. A body that runs a Core statement makes SQLAlchemy begin
    its transaction (the BEGIN already sent is not sent again); that one then ends as usual.
    Errors are SQLAlchemy's ``DBAPIError``, and a failed COMMIT drops the connection, as in
    :class:`Transaction`.
    """

    __slots__ = ("_dialect",)

    def __init__(self, engine: Engine, held: HeldConnection | None, dialect: Dialect) -> None:
        self._engine = engine
        self._held = held
        self._dialect = dialect

    def __enter__(self) -> Connection:
        conn = self._take()
        try:
            self._dialect.begin_write(conn)
        except BaseException as exc:
            self._begin_failed(exc)
            raise  # the caller may run it again
        return conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        conn = self._conn
        try:
            trans = conn.get_transaction()  # SQLAlchemy's, begun by a Core statement of the body
            if exc_type is not None:
                if trans is not None:
                    trans.rollback()
                else:
                    _end(conn, commit=False)
            else:
                try:
                    if trans is not None:
                        trans.commit()
                    else:
                        _end(conn, commit=True)
                except BaseException:
                    # The DBAPI connection may still be inside the transaction: the next command
                    # on it would commit this one's writes. Drop it so the database discards them.
                    conn.invalidate()
                    raise
        except BaseException:
            self._release(failed=True)
            raise
        self._release(failed=exc_type is not None)


def _end(conn: Connection, *, commit: bool) -> None:
    """COMMIT (or ROLLBACK) on the DBAPI connection, as SQLAlchemy's ``Connection`` would end it."""
    try:
        if commit:
            if conn.dispatch.commit:
                conn.dispatch.commit(conn)
            conn.dialect.do_commit(conn.connection)
        else:
            if conn.dispatch.rollback:
                conn.dispatch.rollback(conn)
            conn.dialect.do_rollback(conn.connection)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise dbapi.wrapped(conn, exc, "COMMIT" if commit else "ROLLBACK", (), None) from exc


class Transaction(_OnConnection):
    """One transaction on the held connection (or a pooled one), as a plain context manager.

    (A class rather than nested ``@contextmanager`` generators: every command enters one.)
    Any error drops the held connection; a pooled one always goes back to the pool.
    """

    __slots__ = ("_trans", "_write")

    def __init__(self, engine: Engine, write: bool, held: HeldConnection | None) -> None:
        self._engine = engine
        self._write = write
        self._held = held

    def __enter__(self) -> Connection:
        conn = self._take()
        writing = BEGIN_WRITE.set(self._write)
        try:
            self._trans = conn.begin()
        except BaseException as exc:
            self._begin_failed(exc)
            raise  # the caller may run it again
        finally:
            BEGIN_WRITE.reset(writing)
        return conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        trans = self._trans
        try:
            if exc_type is not None:
                if trans.is_active:
                    trans.rollback()
            elif trans.is_active:
                if not self._write:
                    trans.rollback()
                else:
                    try:
                        trans.commit()
                    except BaseException:
                        # After a failed COMMIT SQLAlchemy considers the transaction over and returns
                        # the connection to the pool without a rollback, while the DBAPI connection
                        # may still be inside it: the next command on it would then commit this
                        # one's writes. Drop the connection so the database discards them.
                        self._conn.invalidate()
                        raise
        except BaseException:
            self._release(failed=True)
            raise
        self._release(failed=exc_type is not None)
