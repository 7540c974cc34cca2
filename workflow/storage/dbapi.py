"""Running SQL on the DBAPI cursor under a SQLAlchemy connection, as SQLAlchemy itself would.

The write path's statements skip SQLAlchemy's execution layer (see statements.py),
but must still behave as if they went through it: ``before_cursor_execute``
listeners see each statement (tests inject faults there), a driver error comes out
as :class:`sqlalchemy.exc.DBAPIError` (with ``connection_invalidated``), and a
dropped connection is invalidated so the pool never hands it out again.

This is the one module that fires SQLAlchemy's dispatch by hand;
``tests/test_dbapi.py`` fails if a SQLAlchemy upgrade changes any of the hooks used
here (``dispatch.before_cursor_execute``, ``dispatch.commit``, ``DBAPIError.instance``,
``dialect.is_disconnect``, ``dialect.do_commit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


def execute(conn: Connection, sql: str, params: Sequence[Any]) -> Any:
    """Run one statement on a new cursor of ``conn``'s DBAPI connection; returns the cursor."""
    return run(conn, conn.connection.dbapi_connection, bool(conn.dispatch.before_cursor_execute), sql, params)


def run(conn: Connection, raw: Any, hooked: bool, sql: str, params: Sequence[Any]) -> Any:
    """:func:`execute` on ``raw``, ``conn``'s DBAPI connection, as a transaction keeps it at hand;
    ``hooked``: ``before_cursor_execute`` has listeners (a transaction asks once, at its start)."""
    cursor = None
    try:
        if not hooked:
            return raw.execute(sql, params)  # the driver makes the cursor (no listener wants it first)
        cursor = raw.cursor()
        conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
        cursor.execute(sql, params)
    except Exception as exc:  # the driver's error class is looked up only when one happened
        if isinstance(exc, conn.dialect.loaded_dbapi.Error):
            raise wrapped(conn, exc, sql, params, cursor) from exc
        raise
    return cursor


def pipeline(
    conn: Connection, statements: Sequence[tuple[str, Sequence[Any]]], *, commit: bool = False
) -> list[Any]:
    """PostgreSQL: several statements (and the COMMIT) in one round trip (psycopg pipeline mode).

    The COMMIT goes through the dialect's ``do_commit`` after the ``commit`` listeners, as
    ``Connection.commit()`` would; the transaction's own COMMIT then finds nothing to do.
    """
    driver = conn.connection.driver_connection
    cursors = []
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            for sql, params in statements:
                cursors.append(execute(conn, sql, params))
            if commit:
                if conn.dispatch.commit:
                    conn.dispatch.commit(conn)
                conn.dialect.do_commit(conn.connection)
    except conn.dialect.loaded_dbapi.Error as exc:
        sql, params = statements[0]
        raise wrapped(conn, exc, sql, params, None) from exc
    return cursors


def wrapped(conn: Connection, exc: Exception, sql: str, params: Sequence[Any], cursor: Any) -> DBAPIError:
    """The driver's error ``exc`` as SQLAlchemy raises it; a dropped connection is invalidated."""
    gone = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)  # type: ignore[arg-type]
    if gone:
        conn.invalidate(exc)
    wrapped = DBAPIError.instance(
        sql, params, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=gone
    )
    assert isinstance(wrapped, DBAPIError)  # a driver error always wraps as one
    return wrapped
