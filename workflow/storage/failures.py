"""A database failure: whether running the transaction again may succeed, and else one sentence for it.

Both backends' drivers say the same things in different words (SQLite's result
codes and messages, PostgreSQL's SQLSTATEs and libpq's text); here they are told
apart once, so the engine retries a lost race and a person reads what to act on.
No sentence holds a password (:func:`workflow.storage.database.scrub`).
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError

from workflow.errors import DatabaseProblem, PhasegateError, UsageError
from workflow.storage.database import scrub

# The events table's unique constraints: a violation means another writer appended to
# the same chain first, so the whole transaction can be retried on the new head.
CHAIN_HEAD_CONSTRAINTS = frozenset({"pk_events", "uq_events_chain_prev_hash"})
_SQLITE_CHAIN_HEAD_MESSAGES = (
    "UNIQUE constraint failed: events.chain, events.prev_hash",
    "UNIQUE constraint failed: events.chain, events.seq",
    "the chain already holds this event or its predecessor",  # migration 0005's BEFORE INSERT trigger
)
_PG_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock
_SQLITE_BUSY = 5  # the primary result code; extended codes (BUSY_SNAPSHOT, ...) share the low byte
_NUL_IN_TEXT = "cannot contain NUL"  # psycopg, before anything is sent: "PostgreSQL text fields cannot ..."



def _dbapi_error(exc: BaseException) -> BaseException:
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def is_busy(exc: BaseException) -> bool:
    """SQLite: another writer held the database's lock (for as long as the busy timeout waited)."""
    orig = _dbapi_error(exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == _SQLITE_BUSY) or "database is locked" in str(orig)


def is_retryable(exc: BaseException) -> bool:
    """True when the transaction lost a race and running it again may succeed."""
    orig = _dbapi_error(exc)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _PG_RETRYABLE_SQLSTATES:
        return True
    if sqlstate == "23505":  # unique_violation: retry only a lost race on a chain head
        diag = getattr(orig, "diag", None)
        return getattr(diag, "constraint_name", None) in CHAIN_HEAD_CONSTRAINTS
    if is_busy(exc):
        return True
    message = str(orig)
    is_integrity = isinstance(exc, IntegrityError) or type(orig).__name__ == "IntegrityError"
    return is_integrity and any(m in message for m in _SQLITE_CHAIN_HEAD_MESSAGES)


_PG_SQLSTATE_SENTENCES = {
    "53100": "the database server's disk is full",
    "53200": "the database server is out of memory",
    "25006": "the database is read-only",
    "42501": "permission denied",
    "3D000": "the database does not exist",
    "28P01": "the password was not accepted",
    "28000": "the server refused this user",
    "57P03": "the server is starting up or shutting down",
}


def translate_error(exc: BaseException, url: URL | str | None = None) -> PhasegateError:
    """One sentence for a database failure a person has to act on (not a bug in phasegate).

    The sentence never holds a password: the driver's message is scrubbed of the URL's
    password and of anything shaped like one before a line of it is quoted. Text PostgreSQL
    cannot hold (a NUL character, in a name or a filter nobody checked for one) is the input's
    fault, not the database's: bad input (422), as it is on SQLite, which stores or finds nothing.
    """
    if isinstance(exc, DatabaseProblem):
        return exc
    if _NUL_IN_TEXT in str(_dbapi_error(exc)):
        return UsageError("the text given contains a NUL character (U+0000), which phasegate does not accept")
    parsed: URL | None = None
    if url is not None:
        try:
            parsed = make_url(url) if isinstance(url, str) else url
        except (ArgumentError, ValueError, TypeError):
            parsed = None
    orig = _dbapi_error(exc)
    # The driver's text can quote its connection string; it is cleaned before anything reads it.
    message = scrub(str(orig).strip(), parsed if parsed is not None else url)
    first_line = message.splitlines()[0] if message else type(orig).__name__
    backend = parsed.get_backend_name() if parsed is not None else None
    if backend == "sqlite" or type(orig).__module__ == "sqlite3":
        where = (parsed.database if parsed is not None else None) or "the database"
        return _sqlite_problem(where, message.lower(), first_line)
    where = scrub(_server(parsed), parsed) if parsed is not None else "the server"
    return _server_problem(where, message, getattr(orig, "sqlstate", None), first_line)


def _sqlite_problem(where: str, lower: str, first_line: str) -> DatabaseProblem:
    """The sentence for SQLite's failure on the file ``where``; ``lower``: its message, lower case."""
    if "file is not a database" in lower or "malformed" in lower:
        reason = "file is not a database" if "not a database" in lower else "file is damaged"
        return DatabaseProblem(f"{where} is not a phasegate database ({reason}).")
    if "database or disk is full" in lower or "disk i/o error" in lower:
        return DatabaseProblem(f"cannot write the database {where}: the disk is full or failing.")
    if "readonly" in lower or "read-only" in lower:
        return DatabaseProblem(f"cannot write the database {where}: it is read-only.")
    if "unable to open database file" in lower:
        return DatabaseProblem(
            f"cannot open the database {where}: the file or its folder is missing or not accessible."
        )
    if "database is locked" in lower:
        return DatabaseProblem(f"the database {where} stayed locked by another process; try again.")
    return DatabaseProblem(f"the database {where} failed: {first_line.rstrip('.')}.")


def _server_problem(where: str, message: str, sqlstate: str | None, first_line: str) -> DatabaseProblem:
    """The sentence for a database server's failure: by SQLSTATE when it has one, else by its words."""
    lower = message.lower()
    if sqlstate in _PG_SQLSTATE_SENTENCES:
        return DatabaseProblem(f"cannot use the database at {where}: {_PG_SQLSTATE_SENTENCES[sqlstate]}.")
    if "connection refused" in lower:
        return DatabaseProblem(f"cannot connect to the database at {where}: connection refused.")
    if "timeout expired" in lower or "timed out" in lower:
        return DatabaseProblem(f"cannot connect to the database at {where}: no answer (timed out).")
    match = re.search(r'database "([^"]+)" does not exist', message)
    if match:
        return DatabaseProblem(f"cannot connect to the database at {where}: {match.group(0)}.")
    if "password authentication failed" in lower or "no password supplied" in lower:
        return DatabaseProblem(f"cannot connect to the database at {where}: the password was not accepted.")
    if "could not translate host name" in lower or "name or service not known" in lower:
        return DatabaseProblem(f"cannot connect to the database at {where}: unknown host name.")
    if "permission denied" in lower:
        return DatabaseProblem(f"cannot use the database at {where}: permission denied.")
    if "no space left" in lower or "disk full" in lower:
        return DatabaseProblem(f"cannot use the database at {where}: the server's disk is full.")
    if "read-only" in lower:
        return DatabaseProblem(f"cannot use the database at {where}: the database is read-only.")
    if "connection" in lower and ("closed" in lower or "lost" in lower or "terminat" in lower):
        return DatabaseProblem(f"lost the connection to the database at {where}; try again.")
    return DatabaseProblem(f"the database at {where} failed: {first_line.rstrip('.')}.")


def _server(url: URL) -> str:
    host = url.host or "localhost"
    port = url.port or (5432 if url.get_backend_name() == "postgresql" else None)
    return f"{host}:{port}" if port else host
