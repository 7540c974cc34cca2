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
WEBHOOK_ANSWER_BYTES = declare(
    "WEBHOOK_ANSWER_BYTES",
    "a webhook receiver's answer, read",
    4096,
    "bytes",
    "only the status counts and the answer is never kept: past this much of its body the connection is "
    "closed, not read to the end (its status line and headers are bounded by h11, 100 KiB)",
)
WEBHOOK_DEADLINE = declare(
    "WEBHOOK_DEADLINE",
    "one webhook delivery, from connecting to the answer's last byte read",
    10.0,
    "seconds",
    "one overall deadline, not one per read: a receiver trickling its answer a byte at a time is cut off; "
    "a worker's lease is always more than twice it, so no other worker sends the same row meanwhile",
    "phasegate notify run --deadline (the worker inside phasegate serve keeps the default)",
)
WEBHOOK_OTHERS_RESERVE = declare(
    "WEBHOOK_OTHERS_RESERVE",
    "webhook connections kept for the other receivers",
    0.25,
    "of --concurrency (at least one connection), besides it",
    "one receiver gets at most --concurrency connections and the worker keeps a quarter more for the "
    "others: a receiver that holds all it may get (slow, trickling) holds only its own rows",
    "phasegate notify run --concurrency",
)
