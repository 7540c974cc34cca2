"""What a caller who has not signed in learns when the database fails: that it is unavailable, and
nothing of where it is (host, port, name); the server's log has the whole sentence.

Against a real ``phasegate serve`` on a PostgreSQL database of its own, which the test then
closes to new connections and empties of the server's (``ALLOW_CONNECTIONS false`` and
``pg_terminate_backend``): the failure a person would meet when the database server goes away.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import URL
from support.apiclients import error_of
from support.servers import live_server, people

from workflow import Engine

pytestmark = pytest.mark.slow  # a real `phasegate serve` on a PostgreSQL database it then loses: 6.7 s a test (measured 2026-12-07)


@pytest.fixture
def own_database(pg_admin_url: URL) -> Iterator[URL]:
    """A PostgreSQL database of the test's own (it is closed to connections midway), dropped after."""
    name = f"phasegate_gone_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield pg_admin_url.set(database=name)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def database_gone(pg_admin_url: URL, name: str) -> Iterator[None]:
    admin = sqlalchemy.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def where_it_is(url: URL) -> list[str]:
    return [str(url.host), f":{url.port or 5432}", str(url.database)]


def test_readyz_and_the_sign_ins_tell_nobody_where_the_database_is(
    own_database: URL, pg_admin_url: URL, tmp_path: Path
) -> None:
    db_url = own_database.render_as_string(hide_password=False)
    with Engine(db_url) as engine:
        people(engine, {"mem": ()})
    with live_server(db_url, tmp_path / "server.log", "--tick-every", "0", "--no-deliver") as server, \
            database_gone(pg_admin_url, str(own_database.database)):
        answers = []
        for _ in range(2):  # the first request may meet a pooled connection that was cut, the next a refusal
            answers.append(httpx.get(f"{server.url}/readyz", timeout=30))
            answers.append(httpx.post(f"{server.url}/api/v1/me/session", timeout=30,
                                      json={"login": "mem", "password": "not the password"}))
            answers.append(httpx.post(f"{server.url}/signin", timeout=30, headers={"Accept": "text/html"},
                                      data={"login": "mem", "password": "not the password"}))
        log = server.log_text()
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert "unavailable" in answer.text
        for part in where_it_is(own_database):
            assert part not in answer.text, f"{answer.request.url} told {part!r}: {answer.text[:300]}"
    api = answers[1]
    assert error_of(api) == {"kind": "unavailable", "message": "the database is unavailable; try again later"}
    assert "127.0.0.1:5432" in log, "the server's log has the whole sentence"
