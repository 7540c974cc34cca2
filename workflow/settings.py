"""Every setting phasegate takes from its environment, declared once and read in one place.

Each ``PHASEGATE_*`` variable is one field of :class:`Environment` (named apart from the
server's options, ``workflow.server.settings.Settings``), with its name, its default
and what it means (the docs' settings reference, docs/reference/settings.md, is
:func:`markdown_table`'s text, generated when the site is built). :func:`_environ` is the one
function in ``workflow/`` that touches ``os.environ`` (a design test fails on any other): the
edges (a CLI command, the server's start, the outbox's worker) take :func:`current` and pass the
values in; the domain never reads it.

Nothing is cached: a variable changed while the process runs (a test's ``monkeypatch``,
``phasegate serve`` handing its options to its workers) is seen by the next read. A
transaction and a new SQLite connection read their one value through :func:`one` (reading
all twelve costs ~10 µs, too much for every transaction). Cheap to import: stdlib only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

# The variables' names, for the sentences and options that name them.
DB = "PHASEGATE_DB"
USER = "PHASEGATE_USER"
SERVER = "PHASEGATE_SERVER"
TOKEN = "PHASEGATE_TOKEN"
LOCK_WAIT = "PHASEGATE_LOCK_WAIT"
SQLITE_CACHE_MIB = "PHASEGATE_SQLITE_CACHE_MIB"
CHECKPOINT_KEY = "PHASEGATE_CHECKPOINT_KEY"
WEBHOOK_ALLOW = "PHASEGATE_WEBHOOK_ALLOW"
SMTP_URL = "PHASEGATE_SMTP_URL"
MAIL_FROM = "PHASEGATE_MAIL_FROM"
BASE_URL = "PHASEGATE_BASE_URL"
SERVER_SETTINGS = "PHASEGATE_SERVER_SETTINGS"
FILES = "PHASEGATE_FILES"
MAX_FILE_MIB = "PHASEGATE_MAX_FILE_MIB"

LOCK_WAIT_DEFAULT_S = 5.0
SQLITE_CACHE_KIB = 32 * 1024


def _text(raw: str | None) -> str | None:
    """Unset or empty: None."""
    return raw or None


def _stripped(raw: str | None) -> str:
    return (raw or "").strip()


def _lock_wait(raw: str | None) -> float:
    try:
        value = float(raw or LOCK_WAIT_DEFAULT_S)
    except ValueError:
        return LOCK_WAIT_DEFAULT_S
    return min(max(value, 0.05), 3600.0)


def _sqlite_cache_kib(raw: str | None) -> int:
    try:
        mib = float(raw or SQLITE_CACHE_KIB / 1024)
    except ValueError:
        return SQLITE_CACHE_KIB
    return max(256, int(mib * 1024))


def _mib(raw: str | None) -> int | None:
    """A size in MiB as bytes (None: unset or not a positive number, the limit's default)."""
    try:
        mib = float(raw) if raw else 0.0
    except ValueError:
        return None
    return int(mib * 1024 * 1024) if mib > 0 else None


def _key(raw: str | None) -> bytes | None:
    # surrogateescape: a key that is not UTF-8 in the environment is used as its bytes
    return raw.encode("utf-8", "surrogateescape") if raw else None


def _setting(variable: str, default: str, meaning: str, parse: Callable[[str | None], Any],
             *, secret: bool = False) -> Any:
    return field(repr=not secret,
                 metadata={"variable": variable, "default": default, "meaning": meaning, "parse": parse})


@dataclass(frozen=True)
class Environment:
    """What the environment says, parsed; each field names its variable, default and meaning."""

    db: str | None = _setting(
        DB, "a SQLite file in your data directory",
        "the database, a SQLAlchemy URL (`postgresql+psycopg://…` for teams); `--db` and `serve --db` "
        "win over it", _text)
    user: str | None = _setting(
        USER, "your login name", "who is acting on the command line (`--as`); not with `--server`", _text)
    server: str | None = _setting(
        SERVER, "—", "run every command through `phasegate serve` at this URL (`--server`)", _text)
    token: str = _setting(
        TOKEN, "—", "your API token for `--server` (never an option: a command line shows in `ps`)",
        _stripped, secret=True)
    lock_wait: float = _setting(
        LOCK_WAIT, "5", "seconds a write waits for another writer's lock (SQLite's busy timeout and the "
        "retries' budget), then says the database is locked; 0.05 to 3600", _lock_wait)
    sqlite_cache_kib: int = _setting(
        SQLITE_CACHE_MIB, "32", "SQLite's page cache per connection, in MiB (at least 0.25): smaller on a "
        "host short of memory", _sqlite_cache_kib)
    checkpoint_key: bytes | None = _setting(
        CHECKPOINT_KEY, "—", "the HMAC-SHA256 key audit checkpoints are signed and checked with; when set, "
        "an unsigned checkpoint is refused", _key, secret=True)
    webhook_allow: str = _setting(
        WEBHOOK_ALLOW, "—", "comma-separated CIDRs a webhook may reach besides public addresses, e.g. "
        "`10.0.0.0/8,127.0.0.0/8`; read by `webhook add`, `serve` and `notify run`", _stripped)
    smtp_url: str = _setting(
        SMTP_URL, "—", "the SMTP server e-mails go through: `smtp://host:587?starttls=1`, "
        "`smtps://user:password@host:465`, `smtp://host:25`; unset: e-mails wait (pending, not dead) and "
        "the worker says so", _stripped, secret=True)
    mail_from: str = _setting(MAIL_FROM, "—", "the e-mails' sender address", _stripped)
    base_url: str | None = _setting(
        BASE_URL, "`http://127.0.0.1:8765`", "where the links in notifications point: `…/projects/CODE`",
        _text)
    files: str | None = _setting(
        FILES, "— (in the database)", "a directory deliverables' bytes are stored in, each file under its "
        "sha256, instead of the database (every host sharing the database needs it, at the same path)", _text)
    max_file_bytes: int | None = _setting(
        MAX_FILE_MIB, "100", "the largest deliverable file accepted, in MiB", _mib)
    server_settings: str | None = _setting(
        SERVER_SETTINGS, "—", "set by `phasegate serve` for its workers (its options, as JSON); not "
        "for people to set", _text)


_FIELDS = {f.name: f for f in fields(Environment)}


def _environ() -> Mapping[str, str]:
    """This process's environment: the one place phasegate reads it."""
    return os.environ


def read(environ: Mapping[str, str] | None = None) -> Environment:
    """The settings ``environ`` gives (None: this process's environment)."""
    env = _environ() if environ is None else environ
    return Environment(**{name: f.metadata["parse"](env.get(f.metadata["variable"]))
                       for name, f in _FIELDS.items()})


def current() -> Environment:
    """This process's settings, as its environment says now."""
    return read()


def one(name: str) -> Any:
    """The one field ``name`` of :func:`current`, read alone (a transaction's lock wait)."""
    f = _FIELDS[name]
    return f.metadata["parse"](_environ().get(f.metadata["variable"]))


def hand_to_workers(serialized: str) -> None:
    """``phasegate serve``: its options, for the workers uvicorn starts (they inherit the environment)."""
    os.environ[SERVER_SETTINGS] = serialized


def child_environment(**extra: str) -> dict[str, str]:
    """This process's environment plus ``extra``, for a child process of phasegate's own."""
    return {**_environ(), **extra}


def markdown_table() -> str:
    """Every setting as a markdown table (the docs' settings reference shows it)."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for f in _FIELDS.values():
        default = f.metadata["default"]
        lines.append(f"| `{f.metadata['variable']}` | {default} | {f.metadata['meaning']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m workflow.settings: the table, as the docs show it
    print(markdown_table(), end="")
