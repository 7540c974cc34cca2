"""Opening the database: which URL, how connections are set up, how a URL is shown.

SQLite is the default (a file in the user's data directory) and PostgreSQL serves
teams. Both are driven through SQLAlchemy Core; this module owns everything that
differs between them in connection set-up and transaction start (and
:mod:`workflow.storage.failures` in their error codes) so the engine above it
writes one code path.

Why the SQLite set-up looks the way it does:

* ``isolation_level = None`` on the sqlite3 connection and our own ``BEGIN`` in the
  SQLAlchemy "begin" event: the sqlite3 module's legacy transaction control neither
  begins a transaction for SELECT or DDL nor lets us choose ``BEGIN IMMEDIATE``.
* ``BEGIN IMMEDIATE`` for writes: a deferred transaction that reads and then writes
  fails at once with SQLITE_BUSY_SNAPSHOT when another writer committed meanwhile,
  whatever the busy timeout; an immediate one waits for the write lock up front.
* WAL so readers never block the writer, ``synchronous=FULL`` so an acknowledged
  approval survives a power cut, foreign keys on, and a busy timeout long enough
  for a queue of writers.
"""

from __future__ import annotations

import random
import re
import sqlite3
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from workflow import settings
from workflow.domain import limits
from workflow.domain.inputs import later
from workflow.errors import DatabaseProblem

ENV_DB = settings.DB
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_CACHE_KIB = settings.SQLITE_CACHE_KIB
ENV_SQLITE_CACHE = settings.SQLITE_CACHE_MIB  # a smaller page cache for a host short of memory


def sqlite_cache_kib() -> int:
    """SQLite's page cache per connection, KiB ($PHASEGATE_SQLITE_CACHE_MIB, default 32 MiB)."""
    return int(settings.one("sqlite_cache_kib"))
ENV_LOCK_WAIT = settings.LOCK_WAIT
LOCK_WAIT_DEFAULT_S = settings.LOCK_WAIT_DEFAULT_S


def lock_wait_seconds() -> float:
    """How long a write may wait for another writer's lock in all ($PHASEGATE_LOCK_WAIT, seconds).

    SQLite has one writer at a time; a command waits this long for it (its busy timeout,
    and the retry loop's budget), then says the database is locked rather than hanging.
    """
    return float(settings.one("lock_wait"))
PG_CONNECT_TIMEOUT_S = 5


_clock: Callable[[], datetime] | None = None


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Make every time phasegate takes come from ``clock`` (None: the system clock again).

    For tests and simulations of a schedule (a clock the test moves, never a sleep); one
    process-wide clock, like the system's.
    """
    global _clock
    _clock = clock


def utcnow() -> str:
    """The current UTC time as stored: fixed-width text that sorts like the instant it names."""
    now = datetime.now(UTC) if _clock is None else _clock().astimezone(UTC)
    # isoformat is ~2x faster than strftime; with timespec it always has the microseconds.
    return now.isoformat(timespec="microseconds")[:-6] + "Z"


def event_time(previous: str | None) -> str:
    """The time of a new event whose chain's last event is dated ``previous``: the clock's.

    When another host's clock runs a little ahead (at most ``limits.CLOCK_SKEW``) and dated
    ``previous`` after this clock's now, the new event takes ``previous``, so a chain's times
    follow its order. Never more: an event dated further ahead (an older phasegate's
    ``tick --now``, or SQL) leaves the record's clock alone, and what is written now says now.
    """
    now = utcnow()
    if previous is not None and now < previous <= later(now, limits.CLOCK_SKEW.default):
        return previous
    return now


def default_url() -> str:
    """The SQLite file in the user's data directory; nothing is created here."""
    import platformdirs  # only needed when no URL was given

    path = Path(platformdirs.user_data_dir("phasegate")) / "phasegate.db"
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def open_database(url: str | None = None, *, create: bool = True, pool_size: int | None = None,
                  pool_wait: float | None = None) -> Engine:
    """An Engine for ``url`` (else ``$PHASEGATE_DB``, else the default file), not yet connected.

    ``pool_size``: connections kept open for threads other than the one that opened the Engine
    (the server's request threads; default 2, for a CLI run or a script). As many again may be
    opened for a burst, but each of those is closed after its one use, so a pool smaller than
    the threads that use it opens a connection per request. ``pool_wait``: seconds a thread
    waits for a connection when all are in use (default ``limits.POOL_WAIT``).

    Everything that can be checked without connecting is checked here, so a bad URL or
    a file that is not a database is refused before anything touches it. No sentence
    built here shows the URL's password (see :func:`_show`).
    """
    if url is None:
        url = settings.one("db")
    if url is None:
        url = default_url()
        path = make_url(url).database
        assert path is not None
        Path(path).parent.mkdir(parents=True, exist_ok=True)

    parsed = _parse_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = _sqlite_engine(parsed, create=create, pool_size=pool_size, pool_wait=pool_wait)
        elif backend == "postgresql":
            engine = _postgresql_engine(parsed, pool_size=pool_size, pool_wait=pool_wait)
        else:
            engine = create_engine(parsed, pool_size=2, max_overflow=3)
    except NoSuchModuleError as exc:
        raise DatabaseProblem(
            f"phasegate cannot use the database URL {_show(parsed, url)}: "
            f"unknown database kind or driver {parsed.drivername!r}."
        ) from exc
    except ImportError as exc:
        module = scrub(getattr(exc, "name", None) or str(exc), parsed)
        raise DatabaseProblem(
            f"phasegate cannot use the database URL {_show(parsed, url)}: its driver ({module}) "
            f"is not installed; phasegate supports sqlite:/// and postgresql+psycopg:// URLs."
        ) from exc
    except (ArgumentError, TypeError, ValueError) as exc:
        raise DatabaseProblem(
            f"phasegate cannot use the database URL {_show(parsed, url)}: {scrub(str(exc), parsed)}."
        ) from exc
    return engine


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError) as exc:  # ValueError: a port that is not a number
        raise DatabaseProblem(
            f"{_mask_url_text(url)!r} is not a database URL; use e.g. sqlite:///phasegate.db or "
            f"postgresql+psycopg://user@host/dbname."
        ) from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername.startswith("postgres+"):
        parsed = parsed.set(drivername="postgresql+" + parsed.drivername.split("+", 1)[1])
    return parsed


# Where a URL keeps a password: "scheme://user:PASSWORD@host" and a "password=" (or "sslpassword=")
# query parameter, which libpq reads too. In URL text the password runs to the *last* "@": an
# unencoded "@" or "/" inside it must not leave its tail visible (masking too much is harmless).
_URL_USERINFO_PASSWORD = re.compile(r"://[^:/?#@]*:(.*)@", re.DOTALL)
_QUERY_PASSWORD = re.compile(r"(?:^|[?&;\s])\w*password\s*=\s*('[^']*'|[^&;\s]*)", re.IGNORECASE)
# The same inside a driver's message, where a URL is one word of a sentence.
_MESSAGE_USERINFO_PASSWORD = re.compile(r"://[^:/?#@\s]*:([^@\s]*)@")
HIDDEN = "***"  # what SQLAlchemy's render_as_string(hide_password=True) writes


def _hide_groups(pattern: re.Pattern[str], text: str) -> str:
    """``text`` with group 1 of every match of ``pattern`` (a password) replaced by ``***``."""

    def hide(match: re.Match[str]) -> str:
        if not match.group(1):
            return match.group(0)
        whole, start = match.group(0), match.start()
        return whole[: match.start(1) - start] + HIDDEN + whole[match.end(1) - start :]

    return pattern.sub(hide, text)


def _mask_url_text(url: str) -> str:
    """URL text (parsed or not) with any password replaced by ``***``."""
    return _hide_groups(_QUERY_PASSWORD, _hide_groups(_URL_USERINFO_PASSWORD, url))


def _secrets(url: URL | str | None) -> list[str]:
    """The passwords a URL holds, to be hidden wherever a message repeats them.

    For a parsed URL: its password, query passwords, and what an unencoded "@" in the
    password pushed into the host (``u:p@ss@host``); for text that does not parse, what
    the masking patterns find.
    """
    if url is None:
        return []
    if isinstance(url, str):
        found = [m.group(1) for m in (_URL_USERINFO_PASSWORD.search(url),) if m is not None]
        return [s for s in found + [m.group(1) for m in _QUERY_PASSWORD.finditer(url)] if s]
    found = [str(url.password)] if url.password else []
    found += [str(v) for k, v in url.query.items() if k.lower().endswith("password") and isinstance(v, str)]
    if url.host and "@" in url.host:
        found.append(url.host.rsplit("@", 1)[0])
    return [s for s in found if s]


def scrub(message: str, url: URL | str | None) -> str:
    """A driver's or library's message with the URL's passwords (and any URL-shaped one) hidden."""
    for secret in _secrets(url):
        # Whole occurrences only, so a short password does not garble the words around it.
        message = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", HIDDEN, message)
    return _hide_groups(_QUERY_PASSWORD, _hide_groups(_MESSAGE_USERINFO_PASSWORD, message))


def _show(url: URL, text: str | None = None) -> str:
    """The URL for a sentence: never its password, neither ``user:PASSWORD@`` nor ``?password=``.

    ``text``, the URL as written, matters when it holds a password and two "@": SQLAlchemy
    ends the password at the first "@", so the rest of an unencoded ``p@ss`` would show as
    the host; the text is then masked up to its last "@" instead.
    """
    if text is not None and url.password is not None and text.count("@") > 1:
        return _mask_url_text(text)
    return _mask_url_text(url.render_as_string(hide_password=True))


def shown_url(url: URL | str) -> str:
    """A database URL as phasegate shows it anywhere (messages, ``init`` output): no password."""
    if isinstance(url, URL):
        return _show(url)
    try:
        return _show(make_url(url), url)
    except (ArgumentError, ValueError, TypeError):
        return _mask_url_text(str(url))


def sqlite_file(url: URL) -> Path | None:
    """The file an SQLite URL names, or None for in-memory and URI-mode databases."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if str(url.query.get("uri", "")).lower() in ("true", "1"):
        return None
    return Path(database)


def _check_sqlite_file(path: Path) -> None:
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


# Whether the transaction being begun writes (SQLite: BEGIN IMMEDIATE), for the "begin" listener.
# A context variable, not an execution option: setting an option per connection costs more than
# the variable, and an option engine set up once makes every event check on its connections go
# through a joined dispatcher.
BEGIN_WRITE: ContextVar[bool] = ContextVar("phasegate_begin_write", default=False)


def _pool(pool_size: int | None, pool_wait: float | None = None) -> dict[str, float]:
    """The pool's size and how long a thread waits for one of its connections before SQLAlchemy's
    pool ``TimeoutError`` (which the server answers 503 busy): ``limits.POOL_WAIT`` by default,
    not SQLAlchemy's 30 s, so a request never hangs half a minute on a pool that ran dry."""
    size = {"pool_size": 2, "max_overflow": 3} if pool_size is None else {"pool_size": pool_size,
                                                                          "max_overflow": pool_size}
    return {**size, "pool_timeout": limits.POOL_WAIT.default if pool_wait is None else pool_wait}


def _sqlite_engine(url: URL, *, create: bool = True, pool_size: int | None = None,
                   pool_wait: float | None = None) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        _check_sqlite_file(path)
        engine = create_engine(url, **_pool(pool_size, pool_wait))
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
                _switch_to_wal(cursor)
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
        # On the DBAPI connection directly: exec_driver_sql would be a sizeable part of every command.
        # Listeners still see the statement, as they see the write path's (Engine._exec).
        sql = "BEGIN IMMEDIATE" if BEGIN_WRITE.get() else "BEGIN"
        dbapi_connection = conn.connection.dbapi_connection
        try:
            if conn.dispatch.before_cursor_execute:
                conn.dispatch.before_cursor_execute(conn, None, sql, (), None, False)
            dbapi_connection.execute(sql)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            gone = engine.dialect.is_disconnect(exc, dbapi_connection, None)  # type: ignore[arg-type]
            if gone:
                conn.invalidate(exc)
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error, connection_invalidated=gone) from exc

    return engine


def _switch_to_wal(cursor: Any) -> None:
    """Put a new (or phasegate's) database file in WAL mode, waiting for other first users.

    Two processes opening a new file at once can each hold a shared lock while asking
    for the exclusive one the switch needs; SQLite then answers one of them "database is
    locked" at once instead of waiting (waiting would deadlock). That one lets go and
    tries again, until the busy timeout.
    """
    deadline = time.monotonic() + lock_wait_seconds()
    while True:
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() == "wal" or not _sqlite_may_switch_to_wal(cursor):
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01 * random.uniform(0.5, 1.5))


def _sqlite_may_switch_to_wal(cursor: Any) -> bool:
    """WAL is a persistent property of the file: set it on new or phasegate files only.

    Switching rewrites the header, so a database that belongs to somebody else (and is
    about to be refused by the schema check) stays untouched.
    """
    cursor.execute("PRAGMA page_count")
    if cursor.fetchone()[0] == 0:
        return True
    cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
    return bool(cursor.fetchone()[0])


def _postgresql_engine(url: URL, *, pool_size: int | None = None, pool_wait: float | None = None) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return create_engine(
        url,
        # The engine serialises writers on a project with SELECT ... FOR UPDATE;
        # READ COMMITTED lets the waiter see the winner's commit once it gets the lock.
        isolation_level="READ COMMITTED",
        pool_pre_ping=False,
        **_pool(pool_size, pool_wait),
        connect_args=connect_args,
    )
