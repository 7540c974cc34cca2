"""Opening the database: which URL, how a URL is shown, the clock events are dated by.

SQLite is the default (a file in the user's data directory) and PostgreSQL serves
teams. Both are driven through SQLAlchemy Core; how each is set up, locked and read
lives in its dialect class (:mod:`workflow.storage.dialects`), so the engine above it
writes one code path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from workflow import settings
from workflow.domain import limits
from workflow.domain.inputs import later
from workflow.errors import DatabaseProblem

ENV_DB = settings.DB
ENV_SQLITE_CACHE = settings.SQLITE_CACHE_MIB  # a smaller page cache for a host short of memory
SQLITE_CACHE_KIB = settings.SQLITE_CACHE_KIB  # the default, KiB
ENV_LOCK_WAIT = settings.LOCK_WAIT


def sqlite_cache_kib() -> int:
    """SQLite's page cache per connection, KiB ($PHASEGATE_SQLITE_CACHE_MIB, default 32 MiB)."""
    return int(settings.one("sqlite_cache_kib"))


def lock_wait_seconds() -> float:
    """How long a write may wait for another writer's lock in all ($PHASEGATE_LOCK_WAIT, seconds).

    SQLite has one writer at a time; a command waits this long for it (its busy timeout,
    and the retry loop's budget), then says the database is locked rather than hanging.
    """
    return float(settings.one("lock_wait"))


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
    from workflow.storage import dialects

    try:
        engine = dialects.for_url(parsed).create_engine(parsed, create=create, pool_size=pool_size,
                                                        pool_wait=pool_wait)
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
    from workflow.storage import dialects

    return dialects.for_url(parsed).canonical_url(parsed)


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
