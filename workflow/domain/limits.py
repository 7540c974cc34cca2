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
DATE_YEARS = declare(
    "DATE_YEARS",
    "a date a person gives (a phase's due date, a project's start)",
    20,
    "years before or after today",
    "a schedule plans months or years ahead, not centuries; a date stored beyond it (by an older "
    "phasegate, or with SQL) is still shown, and working days are counted over at most twice this span "
    "(beyond it, 'working days left' is not shown)",
)
CLOCK_SKEW = declare(
    "CLOCK_SKEW",
    "how far ahead of this host's clock a chain's last event may be dated and still date the next one",
    5,
    "seconds",
    "hosts writing one database agree on the time within this (NTP keeps them within milliseconds), so "
    "a chain's times follow its order; an event dated further ahead (an older phasegate's `tick --now`, "
    "or SQL) does not pull later events to its time: each is dated at the real time of its transaction",
)
