"""A database failure: whether running the transaction again may succeed, and else one sentence for it.

Both backends' drivers say the same things in different words (SQLite's result
codes and messages, PostgreSQL's SQLSTATEs and libpq's text); here they are told
apart once, so the engine retries a lost race and a person reads what to act on.
No sentence holds a password (:func:`workflow.storage.database.scrub`).
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from workflow.errors import DatabaseProblem, PhasegateError, UsageError
from workflow.storage import dialects
from workflow.storage.database import scrub
from workflow.storage.dialects.base import driver_error

_NUL_IN_TEXT = "cannot contain NUL"  # psycopg, before anything is sent: "PostgreSQL text fields cannot ..."


def is_busy(exc: BaseException) -> bool:
    """SQLite: another writer held the database's lock (for as long as the busy timeout waited)."""
    dialect = dialects.for_error(exc)
    return dialect is not None and dialect.is_busy(exc)


def is_retryable(exc: BaseException) -> bool:
    """True when the transaction lost a race and running it again may succeed."""
    dialect = dialects.for_error(exc)
    return dialect is not None and dialect.is_retryable(exc)


def translate_error(exc: BaseException, url: URL | str | None = None) -> PhasegateError:
    """One sentence for a database failure a person has to act on (not a bug in phasegate).

    The sentence never holds a password: the driver's message is scrubbed of the URL's
    password and of anything shaped like one before a line of it is quoted. Text PostgreSQL
    cannot hold (a NUL character, in a name or a filter nobody checked for one) is the input's
    fault, not the database's: bad input (422), as it is on SQLite, which stores or finds nothing.
    """
    if isinstance(exc, DatabaseProblem):
        return exc
    if _NUL_IN_TEXT in str(driver_error(exc)):
        return UsageError("the text given contains a NUL character (U+0000), which phasegate does not accept")
    parsed: URL | None = None
    if url is not None:
        try:
            parsed = make_url(url) if isinstance(url, str) else url
        except (ArgumentError, ValueError, TypeError):
            parsed = None
    orig = driver_error(exc)
    # The driver's text can quote its connection string; it is cleaned before anything reads it.
    message = scrub(str(orig).strip(), parsed if parsed is not None else url)
    first_line = message.splitlines()[0] if message else type(orig).__name__
    dialect = dialects.for_error(exc)
    if dialect is None:  # not a driver's error: the URL's backend says (no URL: a server's words)
        dialect = dialects.for_url(parsed) if parsed is not None else dialects.BY_BACKEND["postgresql"]
    where = scrub(dialect.where(parsed), parsed) if parsed is not None else dialect.where(None)
    return dialect.problem(where, message, orig, first_line)
