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


def declare(
    key: str, name: str, default: int | float, unit: str, why: str, setting: str | None = None
) -> Limit:
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
DELIVERABLE_BYTES = declare(
    "DELIVERABLE_BYTES",
    "a deliverable's file",
    100 * 1024 * 1024,
    "bytes",
    "an SOW, an estimate, QA material: streamed in and out 1 MiB at a time, never whole in memory; a "
    "larger file is refused while it streams, and nothing of it is kept",
    "PHASEGATE_MAX_FILE_MIB",
)

# -- delivering webhooks (workflow/delivery/webhooks.py, workflow/delivery/worker.py) -----------------
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
    "a worker's lease is always more than twice it, so no other worker sends the same row meanwhile "
    "(the worker inside phasegate serve keeps the default)",
    "phasegate notify run --deadline",
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

# -- signing in (workflow/engine/signin.py, workflow/engine/passwords.py) ---------------------------
PASSWORD_CHECKS = declare(
    "PASSWORD_CHECKS",
    "password checks at once, per server process",
    0,
    "argon2 checks (0: the CPU cores shared among the workers, at least one each)",
    "each costs 64 MiB and a core for about a tenth of a second, in threads of their own at a lower CPU "
    "priority; beyond the bound a sign-in waits a moment, then is answered 503 Busy with Retry-After, so "
    "32 sign-ins at once cannot take 2 GiB or every core",
    setting="phasegate serve --password-checks",
)
PASSWORD_CHECK_WAIT = declare(
    "PASSWORD_CHECK_WAIT",
    "wait for a free password check",
    0.5,
    "seconds",
    "a sign-in that finds every check in use waits this long for one (a few people signing in at "
    "the same moment are not refused) before it is answered 503 Busy",
)
SIGN_IN_FREE_FAILURES = declare(
    "SIGN_IN_FREE_FAILURES",
    "failed sign-ins before each further attempt waits",
    4,
    "failures per account, per client address and per device cookie, in the window",
    "a person mistyping is never slowed; from the fifth failure under one key each attempt waits "
    "twice as long as the one before. An attempt counts as a failure until its password is found "
    "right, so simultaneous guesses under one key cost at most this many argon2 checks (and one)",
)
SIGN_IN_WINDOW = declare(
    "SIGN_IN_WINDOW",
    "the window failed sign-ins are counted in",
    900,
    "seconds",
    "a key's count starts again this long after its first failure",
)
SIGN_IN_MAX_WAIT = declare(
    "SIGN_IN_MAX_WAIT",
    "the longest wait after failed sign-ins",
    900,
    "seconds",
    "the doubling wait stops here: a guesser gets about a hundred guesses a day per key",
)
# -- the client's signing links (issue 24: workflow/engine/links/)
INVITE_DAYS = declare("INVITE_DAYS", "an invitation's link, by default", 14, "days",
                      "long enough for a client's review; `phasegate invite --expires` gives another")
INVITE_MAX_DAYS = declare("INVITE_MAX_DAYS", "an invitation's link, at most", 90, "days",
                          "a link is a bearer secret in someone's mailbox: it must end; reissue one instead")
LINK_CODE_SECONDS = declare("LINK_CODE_SECONDS", "a link's one-time code", 600, "seconds",
                            "the code e-mailed before a decision counts: long enough to read the mail")
LINK_CODE_TRIES = declare("LINK_CODE_TRIES", "wrong entries of one code", 5, "tries",
                          "past them the code is dead and a new one must be sent: 5 guesses of 1,000,000")
LINK_CODES_PER_LINK = declare("LINK_CODES_PER_LINK", "codes sent for one link", 5, "codes per hour",
                              "each sends an e-mail to the client: a forwarded link cannot flood the mailbox")
LINK_CODES_PER_ADDRESS = declare("LINK_CODES_PER_ADDRESS", "codes sent to one address", 10, "codes per hour",
                                 "over all the address's links; answered 429 with Retry-After past it")
LINK_WRONG_CODES = declare("LINK_WRONG_CODES", "wrong codes for one address", 10, "tries per hour",
                           "over every code of every link to the address (5 a code): 429 past it, so "
                           "sending new codes cannot buy more guesses")
DEVICE_COOKIE_SECONDS = declare(
    "DEVICE_COOKIE_SECONDS",
    "how long a browser that signed in stays known (its device cookie)",
    180 * 86400,
    "seconds",
    "a browser someone signed in with keeps signing them in while their account is guessed at "
    "from elsewhere; each sign-in renews it",
)

# -- dates and the clock (workflow/domain/schedule.py, the engine's event times) ---------------------
DATE_YEARS = declare(
    "DATE_YEARS",
    "a date a person gives (a phase's due date, a project's start)",
    20,
    "years before or after today",
    "a schedule plans months or years ahead, not centuries; a date stored beyond it (by an older "
    "phasegate, or with SQL) is still shown, and working days are counted over at most twice this span "
    "(beyond it, 'working days left' is not shown)",
)
DELEGATION_DAYS = declare(
    "DELEGATION_DAYS",
    "a delegation, from its first day to its last",
    90,
    "days",
    "cover for a holiday or a leave, not a standing transfer of someone's signature: a longer absence is "
    "a change of team (assign someone to the role); a delegation ending sooner can be ended early",
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

# -- the database's connections and the audit export (workflow/server/errors.py, spool.py) ---------
POOL_SIZE = declare(
    "POOL_SIZE",
    "database connections kept by a server process",
    8,
    "connections",
    "as many again may be opened for a burst; PostgreSQL's max_connections must cover every worker's "
    "twice this",
    setting="phasegate serve --pool-size",
)
POOL_WAIT = declare(
    "POOL_WAIT",
    "a request's wait for a database connection",
    5,
    "seconds",
    "when every connection is in use, a request is answered 503 busy with Retry-After after this "
    "instead of hanging (SQLAlchemy waits 30 s)",
    setting="phasegate serve --pool-wait",
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
    "a check is CPU work: it runs in a child process of the worker at a lower CPU priority (so it never "
    "holds the worker's interpreter), one at a time; beyond the bound a check is answered 503 busy with "
    "Retry-After at once, so a few people checking hostile templates cannot slow everybody else",
)


def _shown(limit: Limit) -> str:
    value = limit.default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value >= 1_000:
        return f"{value:,}"
    return str(value)


def markdown_table() -> str:
    """Every limit as the docs' Limits table (the docs hold exactly this text; a test compares)."""
    lines = ["| limit | default | unit | setting | why |", "| --- | --- | --- | --- | --- |"]
    for limit in LIMITS.values():
        setting = f"`{limit.setting}`" if limit.setting else "—"
        lines.append(f"| {limit.name} | {_shown(limit)} | {limit.unit} | {setting} | {limit.why} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m workflow.domain.limits: the table, to paste where the docs hold it
    print(markdown_table(), end="")
