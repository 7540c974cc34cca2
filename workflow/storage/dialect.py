"""What the write path does differently on SQLite and PostgreSQL, behind one object.

SQLite serialises writers with ``BEGIN IMMEDIATE``: a write transaction already holds
the database's write lock, so nothing needs locking, and each statement runs at once.
PostgreSQL writers take row and advisory locks, and a command's writes are sent
together with its COMMIT, as one statement, in one round trip (psycopg pipeline mode):
two round trips a command in all, the first for BEGIN, the row lock and the round read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from workflow.errors import Conflict
from workflow.storage import dbapi
from workflow.storage import statements as sql
from workflow.storage.statements import ProjectRow, Statement

if TYPE_CHECKING:
    from workflow.storage.tx import ReadTx, WriteTx

SYSTEM_LOCK_KEY = 0x70676174  # pg_advisory_xact_lock key serializing the templates-and-grants chain
REQUEST_LOCK_CLASS = 0x72716964  # pg_advisory_xact_lock(class, hashtext(request id)): one id at a time
LOCK_REQUEST = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"


class Dialect:
    """SQLite: statements run as they come; the write lock is the transaction's own."""

    postgresql = False

    @staticmethod
    def of(engine: Engine) -> Dialect:
        return PostgreSQL() if engine.dialect.name == "postgresql" else Dialect()

    def locked_project(self, tx: WriteTx, code: str, actor: str) -> tuple[ProjectRow | None, Sequence[Any]]:
        """The project's row (locked for the rest of the transaction) and its round rows; (None, [])
        when there is no such project."""
        found = tx.execute(sql.PROJECT, code=code).fetchone()
        if found is None:
            return None, []
        row = ProjectRow._make(found)
        values = {"project_id": row.id, "actor": actor, "phase": row.phase, "round": row.round}
        return row, tx.run(sql.ROUND_FOR_WRITE, values).fetchall()

    def write(
        self, tx: WriteTx, stmt: Statement, values: Mapping[str, Any], *, one_row: bool = False
    ) -> None:
        """One of the command's writes; ``one_row``: it must change exactly one row (a head move)."""
        cursor = tx.run(stmt, values)
        if one_row and cursor.rowcount != 1:  # impossible under BEGIN IMMEDIATE
            raise Conflict("the project changed while this command ran; nothing was changed, run it again")

    def finish(self, tx: WriteTx) -> None:
        """Before the COMMIT: nothing is left to send."""

    def flush(self, tx: WriteTx) -> None:
        """Send the writes held for the COMMIT now (a transaction that appends a second event to
        the same chain needs the first one's head move done); SQLite has sent them already."""

    def lock_system(self, tx: WriteTx) -> None:
        """Serialize writers of the templates-and-grants chain (BEGIN IMMEDIATE already does)."""

    def prior_request(self, tx: WriteTx, request_id: str) -> Any:
        """The stored (actor, command, outcome) of ``request_id``, or None; two senders of one id
        are serialized (BEGIN IMMEDIATE already does)."""
        return tx.execute(sql.GET_REQUEST, request_id=request_id).fetchone()

    def lock_chain(self, tx: WriteTx, chain: str, system: bool) -> None:
        """Wait for a COMMIT still in flight on ``chain`` before reading it (BEGIN IMMEDIATE waits)."""


class PostgreSQL(Dialect):
    """PostgreSQL: row and advisory locks; the writes go out with the COMMIT, as one statement."""

    postgresql = True

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
        tx.uow.deferred.append((stmt.postgresql, stmt.args(values)))

    def finish(self, tx: WriteTx) -> None:
        if tx.uow.deferred:
            dbapi.pipeline(tx.conn, [sql.combined(tx.uow.deferred)], commit=True)

    def flush(self, tx: WriteTx) -> None:
        if tx.uow.deferred:
            dbapi.pipeline(tx.conn, [sql.combined(tx.uow.deferred)])
            tx.uow.deferred.clear()

    def lock_system(self, tx: WriteTx) -> None:
        tx.conn.execute(select(func.pg_advisory_xact_lock(SYSTEM_LOCK_KEY)))

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


def read_round(tx: ReadTx, row: ProjectRow, actor: str) -> Sequence[Any]:
    """The team, ``actor``'s grants and the current round's tasks and approvals of a project row."""
    return tx.execute(sql.ROUND, project_id=row.id, actor=actor, phase=row.phase, round=row.round).fetchall()
