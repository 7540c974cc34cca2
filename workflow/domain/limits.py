"""Every limit phasegate enforces on what people and other programs send it, declared once.

A limit is a number with a reason: a request body, a sign-in's cost, a template's size, a
date's distance. Each is declared here with its default, its unit and the setting that
changes it (if any), and the code that enforces it reads the value from here; the docs'
Limits table is checked against this list (``tests/domain/test_limits.py``), so a limit
cannot be added without a word about it.

Pure data: nothing here reads the environment. A setting named in ``setting`` is read by
the settings of the process that enforces it (``workflow/server/settings.py`` for the
server's), which passes the value in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """One bound: its name in the docs, its default, what it counts, what changes it, why."""

    name: str
    default: int | float
    unit: str
    setting: str | None
    why: str


LIMITS: dict[str, Limit] = {}


def declare(key: str, name: str, default: int | float, unit: str, why: str, setting: str | None = None) -> Limit:
    """Register a limit under ``key`` (a Python name for it) and return it."""
    if key in LIMITS:
        raise ValueError(f"the limit {key!r} is declared twice")
    limit = Limit(name, default, unit, setting, why)
    LIMITS[key] = limit
    return limit


TEXT = declare(
    "TEXT",
    "free text (a note, comment or reason)",
    4000,
    "characters",
    "a sentence or a few paragraphs; longer text belongs in a document",
)
TEMPLATE_BYTES = declare(
    "TEMPLATE_BYTES",
    "a template file",
    1_048_576,
    "bytes",
    "refused before it is decoded or parsed; the built-in templates are under 10 KiB",
)
POOL_SIZE = declare(
    "POOL_SIZE",
    "database connections kept by a server process",
    8,
    "connections",
    "as many again may be opened for a burst; PostgreSQL's max_connections must cover every worker's "
    "twice this",
    setting="serve --pool-size",
)
POOL_WAIT = declare(
    "POOL_WAIT",
    "a request's wait for a database connection",
    5,
    "seconds",
    "when every connection is in use, a request is answered 503 busy with Retry-After after this "
    "instead of hanging (SQLAlchemy waits 30 s)",
    setting="serve --pool-wait",
)
EXPORTS_PER_PERSON = declare(
    "EXPORTS_PER_PERSON",
    "audit exports one person has in flight (per server process)",
    2,
    "exports",
    "each is spooled to a temporary file as big as the export; more are answered 503 busy",
)
EXPORTS_PER_PROCESS = declare(
    "EXPORTS_PER_PROCESS",
    "audit exports in flight in a server process",
    4,
    "exports",
    "bounds the temporary files' disk and the connections exports read with at once",
)
EXPORT_STALL = declare(
    "EXPORT_STALL",
    "an export's client reading nothing",
    60,
    "seconds",
    "a client that takes nothing of an export for this long is disconnected and its spool removed",
)
