"""The write path runs SQL on the DBAPI cursor but fires SQLAlchemy's hooks by hand (storage/dbapi.py).

These tests pin each hook it relies on, so a SQLAlchemy upgrade that changes one fails
here by name instead of silently turning off fault injection, error translation or the
invalidation of a dropped connection.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

from workflow import Engine
from workflow.storage import dbapi


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.create_project("D-1", template="team-based", actor="ana")
        e.assign("D-1", "integrated_producer", "ana", actor="ana")
        yield e


def test_the_hooks_the_write_path_fires_by_hand_have_the_shapes_it_calls() -> None:
    from sqlalchemy.engine.default import DefaultDialect

    assert "connection_invalidated" in inspect.signature(DBAPIError.instance).parameters
    assert list(inspect.signature(DefaultDialect.is_disconnect).parameters) == [
        "self",
        "e",
        "connection",
        "cursor",
    ]
    assert list(inspect.signature(DefaultDialect.do_commit).parameters) == ["self", "dbapi_connection"]


def test_before_cursor_execute_listeners_see_every_statement_of_a_command(engine: Engine) -> None:
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.store.sqlalchemy, "before_cursor_execute", listener)
    try:
        engine.complete_task("D-1", "integrated_producer", actor="ana")
    finally:
        event.remove(engine.store.sqlalchemy, "before_cursor_execute", listener)
    assert any("FROM projects" in s for s in seen), seen
    assert any("INSERT INTO events" in s or "INSERT INTO tasks" in s for s in seen), seen


def test_a_driver_error_comes_out_as_sqlalchemys_with_the_drivers_error_inside(engine: Engine) -> None:
    with engine.store.connect() as conn:
        conn.begin()
        sql = "INSERT INTO grants (person, privilege, granted_at, granted_by) VALUES (?, ?, ?, ?)"
        if conn.dialect.name == "postgresql":
            sql = sql.replace("?", "%s")
        with pytest.raises(IntegrityError) as caught:
            dbapi.execute(conn, sql, ("ana", "admin", "now", "ana"))  # ana is an admin already
        assert isinstance(caught.value.orig, conn.dialect.loaded_dbapi.Error)
        assert caught.value.connection_invalidated is False
        conn.rollback()


def test_a_dropped_connection_is_invalidated_so_the_pool_never_hands_it_out_again(engine: Engine) -> None:
    with engine.store.connect() as conn:
        conn.begin()
        conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
        with pytest.raises(DBAPIError) as caught:
            dbapi.execute(conn, "SELECT 1", ())
        assert caught.value.connection_invalidated
        assert conn.invalidated


@pytest.mark.slow
def test_the_pipelined_commit_fires_the_commit_listeners(pg_url: str) -> None:
    commits: list[object] = []

    def listener(conn: object) -> None:
        commits.append(conn)

    with Engine(pg_url) as e:
        e.init(admin="ana")
        e.create_project("D-1", template="team-based", actor="ana")
        event.listen(e.store.sqlalchemy, "commit", listener)
        try:
            e.assign("D-1", "integrated_producer", "ana", actor="ana")
        finally:
            event.remove(e.store.sqlalchemy, "commit", listener)
        assert commits, "a command's COMMIT, sent in the pipeline, went past the commit listeners"
        assert e.status("D-1").team["integrated_producer"] == ["ana"]
