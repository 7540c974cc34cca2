"""PostgreSQL: row and advisory locks, and a command's writes sent with its COMMIT in one round trip.

Writers take the project's row lock (``SELECT ... FOR UPDATE``) and advisory locks for
the system chain, the migrations and one request id; READ COMMITTED lets a waiter see
the winner's commit once it gets the lock. A command's writes are held and sent together
with its COMMIT, as one statement (psycopg pipeline mode): two round trips a command in
all, the first for BEGIN, the row lock and the round read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

from workflow.errors import DatabaseProblem
from workflow.storage import dbapi
from workflow.storage import statements as sql
from workflow.storage.dialects.base import Dialect, Sentences, driver_error, pool, said
from workflow.storage.statements import ProjectRow, Statement

if TYPE_CHECKING:
    from workflow.storage.transaction import ReadTx, WriteTx

SYSTEM_LOCK_KEY = 0x70676174  # pg_advisory_xact_lock key serializing the templates-and-grants chain
MIGRATION_LOCK_KEY = 0x70687367  # pg_advisory_xact_lock key serializing migrators
REQUEST_LOCK_CLASS = 0x72716964  # pg_advisory_xact_lock(class, hashtext(request id)): one id at a time
LOCK_REQUEST = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"
CONNECT_TIMEOUT_S = 5

# The events table's unique constraints: a violation means another writer appended to the same
# chain first, so the whole transaction can be retried on the new head.
CHAIN_HEAD_CONSTRAINTS = frozenset({"pk_events", "uq_events_chain_prev_hash"})
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock
_SQLSTATE_SENTENCES = {
    "53100": "the database server's disk is full",
    "53200": "the database server is out of memory",
    "25006": "the database is read-only",
    "42501": "permission denied",
    "3D000": "the database does not exist",
    "28P01": "the password was not accepted",
    "28000": "the server refused this user",
    "57P03": "the server is starting up or shutting down",
}

# libpq's words when there is no SQLSTATE ({connect}: cannot connect..., {use}: cannot use...).
_WORDS: Sentences = (
    (("connection refused",), "{connect}: connection refused."),
    (("timeout expired", "timed out"), "{connect}: no answer (timed out)."),
    (("password authentication failed", "no password supplied"), "{connect}: the password was not accepted."),
    (("could not translate host name", "name or service not known"), "{connect}: unknown host name."),
    (("permission denied",), "{use}: permission denied."),
    (("no space left", "disk full"), "{use}: the server's disk is full."),
    (("read-only",), "{use}: the database is read-only."),
)


class PostgreSQL(Dialect):
    """PostgreSQL through psycopg 3."""

    name = "postgresql"
    paramstyle = "format"
    default_port = 5432
    tells_credential_changes = True

    # -- opening -----------------------------------------------------------------------------------

    def canonical_url(self, url: URL) -> URL:
        driver = url.drivername.split("+", 1)
        return url.set(drivername="postgresql+" + (driver[1] if len(driver) > 1 else "psycopg"))

    def create_engine(self, url: URL, *, create: bool, pool_size: int | None, pool_wait: float | None
                      ) -> Engine:
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        return create_engine(
            url,
            # The engine serialises writers on a project with SELECT ... FOR UPDATE;
            # READ COMMITTED lets the waiter see the winner's commit once it gets the lock.
            isolation_level="READ COMMITTED",
            pool_pre_ping=False,
            **pool(pool_size, pool_wait),
            connect_args=connect_args,
        )

    @contextmanager
    def snapshot(self, engine: Engine, begin: Any) -> Iterator[Connection]:
        # REPEATABLE READ: one snapshot for the whole transaction (the ordinary reads run at READ
        # COMMITTED, which the writers need).
        from workflow.storage.failures import translate_error

        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise translate_error(exc, engine.url) from exc
        with conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            trans = conn.begin()
            try:
                yield conn
            finally:
                if trans.is_active:
                    trans.rollback()

    # -- failures ----------------------------------------------------------------------------------

    def raised(self, orig: BaseException) -> bool:
        return type(orig).__module__.startswith("psycopg")

    def is_retryable(self, exc: BaseException) -> bool:
        orig = driver_error(exc)
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            return True
        if sqlstate == "23505":  # unique_violation: retry only a lost race on a chain head
            diag = getattr(orig, "diag", None)
            return getattr(diag, "constraint_name", None) in CHAIN_HEAD_CONSTRAINTS
        return False

    def problem(self, where: str, message: str, orig: BaseException, first_line: str) -> DatabaseProblem:
        """By SQLSTATE when the failure has one, else by libpq's words."""
        sqlstate = getattr(orig, "sqlstate", None)
        use = f"cannot use the database at {where}"
        if sqlstate in _SQLSTATE_SENTENCES:
            return DatabaseProblem(f"{use}: {_SQLSTATE_SENTENCES[sqlstate]}.")
        connect = f"cannot connect to the database at {where}"
        match = re.search(r'database "([^"]+)" does not exist', message)
        if match:
            return DatabaseProblem(f"{connect}: {match.group(0)}.")
        found = said(_WORDS, message, connect=connect, use=use)
        if found is not None:
            return found
        lower = message.lower()
        if "connection" in lower and ("closed" in lower or "lost" in lower or "terminat" in lower):
            return DatabaseProblem(f"lost the connection to the database at {where}; try again.")
        return super().problem(where, message, orig, first_line)

    # -- the write path ----------------------------------------------------------------------------

    def begin_write(self, conn: Connection) -> None:
        """Nothing to send: psycopg begins the transaction with its first statement (pipelined with
        the row lock), at the READ COMMITTED the engine set on the connection."""

    def locked_project(self, tx: WriteTx, code: str, actor: str) -> tuple[ProjectRow | None, Sequence[Any]]:
        # The round query runs after the lock is granted, so under READ COMMITTED it sees whatever
        # the previous holder of the lock committed.
        locked, round_rows = dbapi.pipeline(
            tx.conn,
            [
                (sql.PROJECT_FOR_UPDATE.postgresql, sql.PROJECT_FOR_UPDATE.args({"code": code})),
                (sql.ROUND_BY_CODE.postgresql, sql.ROUND_BY_CODE.args({"code": code, "actor": actor})),
            ],
        )
        found = locked.fetchone()
        return (None, []) if found is None else (ProjectRow._make(found), round_rows.fetchall())

    def write(
        self, tx: WriteTx, stmt: Statement, values: Mapping[str, Any], *, one_row: bool = False
    ) -> None:
        # No rowcount check is needed for a head move: under the row lock the head cannot have
        # moved, and if it had, the (chain, prev_hash) and (chain, seq) constraints would refuse
        # the event and the whole transaction with it.
        tx.deferred.append((stmt.postgresql, stmt.args(values)))

    def finish(self, tx: WriteTx) -> None:
        if tx.deferred:
            dbapi.pipeline(tx.conn, [sql.combined(tx.deferred)], commit=True)

    def flush(self, tx: WriteTx) -> None:
        if tx.deferred:
            dbapi.pipeline(tx.conn, [sql.combined(tx.deferred)])
            tx.deferred.clear()

    def credentials_changed(self, tx: WriteTx) -> None:
        # delivered at COMMIT (not at all on a rollback) to every LISTENing worker: engine/people/known.py
        tx.conn.execute(text("NOTIFY phasegate_credentials"))

    def lock_system(self, tx: WriteTx) -> None:
        tx.conn.execute(select(func.pg_advisory_xact_lock(SYSTEM_LOCK_KEY)))

    def lock_migrations(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})

    def prior_request(self, tx: WriteTx, request_id: str) -> Any:
        # Two senders of one id at the same instant: without the lock both find no prior request,
        # one wins the project's row lock and the other, once it gets the lock, runs the command a
        # second time ("already done") instead of answering with the first outcome. Serialize on
        # the id; the SELECT, pipelined behind the lock in the same round trip (and with the
        # transaction's BEGIN), runs once the lock is granted, so READ COMMITTED shows the winner's row.
        _locked, prior = dbapi.pipeline(
            tx.conn,
            [
                (LOCK_REQUEST, (REQUEST_LOCK_CLASS, request_id)),
                (sql.GET_REQUEST.postgresql, sql.GET_REQUEST.args({"request_id": request_id})),
            ],
        )
        return prior.fetchone()

    def lock_chain(self, tx: WriteTx, chain: str, system: bool) -> None:
        if system:
            self.lock_system(tx)
        else:
            tx.execute(sql.PROJECT_FOR_UPDATE, code=chain)

    def read_alone(self, tx: ReadTx, stmt: Statement, values: Mapping[str, Any]) -> Any:
        # The transaction's BEGIN, the SELECT and its end in one round trip (psycopg pipeline mode)
        # instead of three; the read transaction's own end then has nothing to do.
        (cursor,) = dbapi.pipeline(tx.conn, [(stmt.postgresql, stmt.args(values))], commit=True)
        return cursor

    def claimable(self, due: Select[Any]) -> Select[Any]:
        # Claims by several workers at once skip each other's rows instead of waiting for them.
        return due.with_for_update(skip_locked=True)

    # -- reading many rows -------------------------------------------------------------------------

    def stream_cursor(self, dbapi_connection: Any, name: str, batch: int) -> Any:
        # A named (server-side) cursor, ``batch`` rows a round trip.
        cursor = dbapi_connection.cursor(name=name)
        cursor.itersize = batch
        return cursor
