"""The object a command body works on: one transaction's connection, dialect and templates.

:class:`ReadTx` is what a read gets; :class:`WriteTx` adds the command's writes and
its :class:`UnitOfWork` — what this attempt has written, which the retry loop
(``transactions.py``) reads to tell whether a failed COMMIT landed, and, on
PostgreSQL, the writes that go out with the COMMIT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from workflow.domain.audit.events import Event
from workflow.storage import dbapi
from workflow.storage.statements import Statement

if TYPE_CHECKING:
    from sqlalchemy.sql import Executable

    from workflow.domain.templates.version import TemplateVersion
    from workflow.storage.dialect import Dialect
    from workflow.storage.outbox import Recipients
    from workflow.storage.templates import TemplateCache


class ReadTx:
    """A transaction's connection with phasegate's ways of reading through it."""

    __slots__ = ("_postgresql", "conn", "dialect", "templates")

    def __init__(self, conn: Connection, dialect: Dialect, templates: TemplateCache) -> None:
        self.conn = conn
        self.dialect = dialect
        self.templates = templates
        self._postgresql = dialect.postgresql

    def execute(self, stmt: Statement, **values: Any) -> Any:
        """One of the prepared statements (statements.py), on the DBAPI cursor; returns the cursor."""
        return self.run(stmt, values)

    def run(self, stmt: Statement, values: Mapping[str, Any]) -> Any:
        """:meth:`execute` with the values as a mapping."""
        return dbapi.execute(
            self.conn, stmt.postgresql if self._postgresql else stmt.sqlite, stmt.args(values)
        )

    def core(self, clause: Executable) -> Any:
        """A SQLAlchemy Core statement (everything off the write path)."""
        return self.conn.execute(clause)

    def template(self, template_id: int) -> TemplateVersion:
        return self.templates.get(self, template_id)


class UnitOfWork:
    """What one attempt of a write transaction has done so far."""

    __slots__ = ("deferred", "written")

    def __init__(self) -> None:
        self.written: list[Event] = []  # events inserted, oldest first
        self.deferred: list[tuple[str, tuple[Any, ...]]] = []  # PostgreSQL: sent with the COMMIT


class WriteTx(ReadTx):
    """A write transaction: reads, plus the command's writes and the events it appends."""

    __slots__ = ("recipients", "uow")

    def __init__(self, conn: Connection, dialect: Dialect, templates: TemplateCache) -> None:
        super().__init__(conn, dialect, templates)
        self.uow = UnitOfWork()
        self.recipients: Recipients | None = None  # read with the locked project (storage/outbox.py)

    def write(self, stmt: Statement, values: Mapping[str, Any], *, one_row: bool = False) -> None:
        """One of the command's own rows: written now (SQLite) or with the COMMIT (PostgreSQL).

        ``one_row``: the statement must change exactly one row (a chain head's move).
        """
        self.dialect.write(self, stmt, values, one_row=one_row)

    def flush(self) -> None:
        """The writes so far sent to the database now (PostgreSQL holds them for the COMMIT)."""
        self.dialect.flush(self)

    def record(self, event: Event) -> dict[str, Any]:
        """Note ``event`` as written by this attempt; returns the values of its row."""
        self.uow.written.append(event)
        return {
            "chain": event.chain,
            "seq": event.seq,
            "at": event.at,
            "actor": event.actor,
            "action": event.action,
            "phase": event.phase,
            "data": event.data_json,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }
