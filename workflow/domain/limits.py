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

# -- what a request may cost the server before anyone is known (workflow/server/bodies.py, protocol.py)

REQUEST_BYTES = declare(
    "REQUEST_BYTES",
    "a request body (JSON or a form)",
    1_048_576,
    "bytes",
    "refused 413 before it is read (Content-Length) or as soon as it passes the limit (chunked); "
    "the longest thing a person types is 4,000 characters",
)
UPLOAD_BYTES = declare(
    "UPLOAD_BYTES",
    "a request that uploads a template (POST /api/v1/templates, /templates/validate; the web app's "
    "template check and publish)",
    2_097_152,
    "bytes",
    "a template file is at most 1 MiB (refused by the loader with its own sentence); the rest is the "
    "form around it",
)
CHECKPOINT_BYTES = declare(
    "CHECKPOINT_BYTES",
    "an audit checkpoint file (and the request that uploads one to verify against)",
    64 * 1_048_576,
    "bytes",
    "a checkpoint names every chain's length and head, ~170 bytes a project: ~400,000 projects",
)
HEADER_SECONDS = declare(
    "HEADER_SECONDS",
    "a request's headers to arrive (from the connection's opening, or the previous answer on it)",
    10,
    "seconds",
    "a connection that trickles its headers is answered 408 and closed instead of held open "
    "(uvicorn has no such timeout of its own)",
    setting="phasegate serve --header-timeout",
)
BODY_SECONDS = declare(
    "BODY_SECONDS",
    "a request's body to arrive (from the start of the request)",
    60,
    "seconds",
    "a body trickled in is answered 408 and the connection closed; 60 s carries the largest upload "
    "(a 64 MiB checkpoint) at ~1 MB/s",
    setting="phasegate serve --body-timeout",
)
HEADER_BYTES = declare(
    "HEADER_BYTES",
    "a request's line and headers",
    65_536,
    "bytes",
    "answered 431 and the connection closed past it (uvicorn's httptools parser keeps headers of any size "
    "in memory); a browser's are a few KiB",
)
CONNECTIONS = declare(
    "CONNECTIONS",
    "open connections per server process",
    256,
    "connections",
    "a request on a connection beyond it is answered 503 busy with Retry-After; the database pool, "
    "not the connections, bounds the work done at once",
    setting="phasegate serve --max-connections",
)

# -- what checking a template may cost (workflow/domain/yaml_reader.py, workflow/server/checks.py)

TEMPLATE_VALUES = declare(
    "TEMPLATE_VALUES",
    "the values in a template (every key, text, list and mapping)",
    10_000,
    "values",
    "composition stops at the one past it, with its line; the built-in templates hold ~170, a template "
    "of 40 roles and 40 phases ~2,000",
)
TEMPLATE_ENTRIES = declare(
    "TEMPLATE_ENTRIES",
    "the entries of one mapping or list in a template (roles, phases, tasks, approvers)",
    500,
    "entries",
    "refused at the entry past it, with its line; the built-in templates' widest holds 7",
)
TEMPLATE_CHECKS = declare(
    "TEMPLATE_CHECKS",
    "template checks (validate, publish; API and web app) in flight per server process",
    2,
    "checks",
    "a check is CPU work in the server; beyond the bound a check is answered 503 busy with Retry-After "
    "at once, so a few people checking hostile templates cannot slow everybody else",
)
