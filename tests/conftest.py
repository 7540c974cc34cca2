"""Shared fixtures: a fresh database per test on SQLite and, when configured, on PostgreSQL.

``db_url`` runs a test on both backends. PostgreSQL tests use one database per test
session (created from ``$PHASEGATE_TEST_PG_URL``, dropped at the end) and one empty
schema per test inside it, selected through the URL's ``search_path``. Without that
variable they skip; in CI (``CI=true``) they fail instead, so a missing PostgreSQL
can never pass CI by skipping.

Every SQLAlchemy engine that connects during a test is disposed when the test ends
(pooled connections would otherwise block ``DROP SCHEMA``/``DROP DATABASE`` and
leak ResourceWarnings, which the suite treats as errors).
"""

from __future__ import annotations

import os
import secrets
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url

PG_ENV = "PHASEGATE_TEST_PG_URL"
PG_MISSING = (
    "PostgreSQL tests need PHASEGATE_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip locally, fail in CI: a CI run must never go green without PostgreSQL."""
    if _in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _normalise(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


# --- engine bookkeeping -----------------------------------------------------------------

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _remember_engine(conn: Any) -> None:
    _engines.add(conn.engine)


@pytest.fixture(scope="session", autouse=True)
def _track_engines() -> Iterator[None]:
    event.listen(Engine, "engine_connect", _remember_engine)
    yield
    event.remove(Engine, "engine_connect", _remember_engine)
    _dispose_engines()


def _dispose_engines() -> None:
    for engine in list(_engines):
        engine.dispose()
    _engines.clear()


@pytest.fixture(autouse=True)
def _dispose_engines_after_test() -> Iterator[None]:
    yield
    _dispose_engines()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads $PHASEGATE_DB or writes into the real user's data directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("PHASEGATE_DB", raising=False)


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin_url() -> URL:
    """The configured PostgreSQL URL (its database is only used to create and drop ours)."""
    raw = os.environ.get(PG_ENV, "").strip()
    if not raw:
        _unavailable(PG_MISSING)
    return _normalise(raw)


@pytest.fixture(scope="session")
def pg_database_url(pg_admin_url: URL) -> Iterator[URL]:
    """A database created for this test session, dropped (WITH (FORCE)) at its end."""
    admin = sqlalchemy.create_engine(
        pg_admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"phasegate_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.OperationalError as exc:
        admin.dispose()
        where = f"{pg_admin_url.host or 'localhost'}:{pg_admin_url.port or 5432}"
        first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        _unavailable(f"PostgreSQL at {where} (from {PG_ENV}) is unreachable: {first_line}")
    try:
        yield pg_admin_url.set(database=name)
    finally:
        _dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_database_url: URL) -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema of the session's database."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = sqlalchemy.create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = pg_database_url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        _dispose_engines()
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


# --- the fixtures tests use ---------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a new SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path}/phasegate.db"


# A test's PostgreSQL run is marked slow: it creates and migrates a schema of its own (measured 2026-12-07 on
# this 2-core machine: median 0.42 s a test, against 0.14 s for the same tests on SQLite). The quick loop,
# `pytest -m "not slow"`, runs them on SQLite; the whole suite (and CI) on both.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)], ids=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A URL for a new, empty database: SQLite, then PostgreSQL (skipped/failed as configured)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine from phasegate's own ``open_database`` on ``db_url``, schema not yet created."""
    from workflow.storage.database import open_database

    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["direct", pytest.param("server", marks=pytest.mark.slow)])
def transport(request: pytest.FixtureRequest) -> str:
    """How a CLI test reaches the data: the database itself, or a server on it (tests/support/cli_runs.py);
    through a server is slow, as ``TRANSPORTS`` there says."""
    return str(request.param)


# --- the browser tests (tests/support/browser.py) ---------------------------------------------------------

from support.browser import browser, seeded, site  # noqa: E402, F401  (fixtures of tests/server/web/test_web_*.py)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the browser tests' screenshots are, so a person can look at them."""
    from support.browser import shots_taken

    if shots_taken:
        terminalreporter.write_line(
            f"browser tests: {len(shots_taken)} screenshots in {shots_taken[0].parent} "
            f"(set PHASEGATE_SCREENSHOTS to choose the folder)")
