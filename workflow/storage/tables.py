"""The database schema as SQLAlchemy Core tables (no ORM: importing it would dominate a CLI call's
start-up; benchmarks/results.md, "Start-up").

Times are stored as ISO 8601 UTC text with microseconds (``2026-11-28T23:31:18.123456Z``):
they sort as text, compare the same on every backend, and hash byte-for-byte.

The migration scripts in ``migrations/`` must create exactly this schema; a test
compares the two (``alembic check``) so a change here without a migration fails.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

PERSON = String(200)
KEY = String(64)
TIME = String(32)
HASH = String(64)
AUTH = String(16)


def round_key() -> tuple[Column[int], Column[str], Column[int]]:
    """The first columns of the primary key of a row about one round of one phase of a project."""
    return (
        Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
        Column("phase", KEY, primary_key=True),
        Column("round", Integer, primary_key=True),
    )


# Published template versions; a row is never updated.
templates = Table(
    "templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", KEY, nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("source", Text, nullable=False),
    # The validated, compiled definition as JSON: a project command reads this instead of
    # importing and running the YAML loader on every CLI call. Derived from ``source``.
    Column("compiled", Text),
    Column("sha256", HASH, nullable=False),
    Column("published_at", TIME, nullable=False),
    Column("published_by", PERSON, nullable=False),
    UniqueConstraint("key", "version", name="uq_templates_key_version"),
)

# Global grants: admin, auditor.
grants = Table(
    "grants",
    metadata,
    Column("person", PERSON, primary_key=True),
    Column("privilege", String(16), primary_key=True),
    Column("granted_at", TIME, nullable=False),
    Column("granted_by", PERSON, nullable=False),
    CheckConstraint("privilege IN ('admin', 'auditor')", name="privilege"),
)

# One row per project. ``seq``/``head_hash`` are the head of the project's audit chain,
# read under the row lock, so appending an event never needs a second query.
# ``rounds`` is canonical JSON {phase: visits so far}, used to number a re-entered phase.
projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", KEY, nullable=False, unique=True),
    Column("name", String(200)),
    Column("client", String(200)),
    Column("template_id", Integer, ForeignKey("templates.id"), nullable=False),
    Column("phase", KEY, nullable=False),
    Column("round", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("rounds", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("head_hash", HASH, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("updated_at", TIME, nullable=False),
    # The project's latest hold and rejection events (their seq), for its status to show.
    Column("hold_seq", Integer),
    Column("rejection_seq", Integer),
    # The schedule (workflow/domain/schedule.py): the working calendar (a country or
    # subdivision of the ``holidays`` package; None: Monday to Friday), the start date, the
    # current round's due date, when its gate opened (every task done), the due dates set
    # ahead for phases not yet entered (JSON {phase: date}), and the next moment
    # ``phasegate tick`` has something to look at (None: nothing, or on hold).
    Column("calendar", String(32)),
    Column("starts_on", String(10)),
    Column("due_on", String(10)),
    Column("gate_opened_at", TIME),
    Column("planned_due", Text),
    Column("next_tick_at", TIME),
    CheckConstraint("status IN ('active', 'on_hold', 'cancelled', 'completed')", name="status"),
    Index("ix_projects_next_tick_at", "next_tick_at", sqlite_where=text("next_tick_at IS NOT NULL"),
          postgresql_where=text("next_tick_at IS NOT NULL")),
    # The projects past their due date (insights, issue 25): only those with one are in it.
    Index("ix_projects_due_on", "due_on", sqlite_where=text("due_on IS NOT NULL"),
          postgresql_where=text("due_on IS NOT NULL")),
)

# Who holds which role on which project; ``seq`` is the assign event that gave the authority.
assignments = Table(
    "assignments",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
    Column("role", KEY, primary_key=True),
    Column("person", PERSON, primary_key=True),
    Column("assigned_at", TIME, nullable=False),
    Column("assigned_by", PERSON, nullable=False),
    Column("seq", Integer, nullable=False),
    Index("ix_assignments_person", "person", "project_id"),
)

# A role's task marked done in one round of one phase.
tasks = Table(
    "tasks",
    metadata,
    *round_key(),
    Column("role", KEY, primary_key=True),
    Column("person", PERSON, nullable=False),
    Column("note", Text),
    Column("done_at", TIME, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("auth", AUTH),  # how the person was authenticated (None: before accounts, "asserted")
    Column("on_behalf_of", PERSON),  # whom the person acted for through a delegation (None: themselves)
)

# A role's approval of the gate in one round of one phase (rejections end the round instead).
approvals = Table(
    "approvals",
    metadata,
    *round_key(),
    Column("role", KEY, primary_key=True),
    Column("person", PERSON, nullable=False),
    Column("comment", Text),
    Column("approved_at", TIME, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("auth", AUTH),
    Column("on_behalf_of", PERSON),  # whom the signer signed for through a delegation (None: themselves)
)

# The audit trail: one hash chain per project (chain = the project's code) and one for
# templates and grants (chain = SYSTEM_CHAIN). Append-only; (chain, prev_hash) unique makes
# a fork impossible.
events = Table(
    "events",
    metadata,
    Column("chain", KEY, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", TIME, nullable=False),
    Column("actor", PERSON, nullable=False),
    Column("action", String(32), nullable=False),
    Column("phase", KEY),
    Column("data", Text, nullable=False),
    Column("prev_hash", HASH, nullable=False),
    Column("hash", HASH, nullable=False),
    UniqueConstraint("chain", "prev_hash", name="uq_events_chain_prev_hash"),
)

# Idempotent retries: a command carrying a request id is applied once; a repeat gets the
# first outcome back.
requests = Table(
    "requests",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("actor", PERSON, nullable=False),
    Column("command", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("at", TIME, nullable=False),
)

# Accounts: a person who may sign in. The login is the name used in assignments and events.
people = Table(
    "people",
    metadata,
    Column("login", PERSON, primary_key=True),
    Column("display_name", String(200)),
    Column("email", String(320)),
    Column("active", Boolean, nullable=False),
    Column("password_hash", Text),  # argon2id; None: no password (tokens or the SSO proxy only)
    Column("created_at", TIME, nullable=False),
    Column("updated_at", TIME, nullable=False),
)

# Personal API tokens: the secret is shown once and stored only as its sha256.
tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("person", PERSON, ForeignKey("people.login", name="fk_tokens_person_people"), nullable=False),
    Column("name", String(200)),
    Column("secret_hash", HASH, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("expires_at", TIME),
    Column("last_used_at", TIME),
    Column("revoked_at", TIME),
    UniqueConstraint("secret_hash", name="uq_tokens_secret_hash"),
    Index("ix_tokens_person", "person"),
)

# Web sessions, server-side: the cookie holds a random id, this row its sha256 and the CSRF token.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", HASH, primary_key=True),
    Column("person", PERSON, ForeignKey("people.login", name="fk_sessions_person_people"), nullable=False),
    Column("csrf", HASH, nullable=False),
    Column("auth", AUTH, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("expires_at", TIME, nullable=False),
    Column("revoked_at", TIME),
    Index("ix_sessions_person", "person"),
)

# Failed sign-ins per login name and per client address, to slow guessing down.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_at", TIME, nullable=False),
    Column("last_at", TIME, nullable=False),
)

# The server's own secrets, by name: "device-cookies", the HMAC key of the device cookies that let
# a browser someone signed in with keep signing them in while their account is guessed at.
server_keys = Table(
    "server_keys",
    metadata,
    Column("name", KEY, primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", TIME, nullable=False),
)

# A reminder, escalation or overdue notice given: once per project, phase, round, kind and
# person, whatever the number of ``tick`` processes (the primary key, not a lock, decides).
timers = Table(
    "timers",
    metadata,
    *round_key(),
    Column("kind", String(16), primary_key=True),  # remind | escalate | overdue
    Column("person", PERSON, primary_key=True),
    Column("seq", Integer, nullable=False),  # the event that gave it
)

# The transactional outbox: a notification is written in the transaction of the event that
# asks somebody to act, and delivered at least once by ``phasegate notify run``.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chain", KEY, nullable=False),  # the event it is about
    Column("seq", Integer, nullable=False),
    # task | sign | ready | rejected | remind | escalate | overdue (workflow/domain/asks.py)
    Column("kind", String(16), nullable=False),
    Column("people", Text, nullable=False),  # JSON list: who is asked to act (an e-mail: its one recipient)
    Column("channel", String(16), nullable=False),  # email | webhook
    Column("target", String(320), nullable=False),  # the e-mail address, or the webhook's id
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", TIME, nullable=False),
    Column("lease_until", TIME),  # a worker is sending it until then (a killed worker's lease lapses)
    Column("last_error", Text),
    Column("created_at", TIME, nullable=False),
    Column("delivered_at", TIME),
    # A secret the e-mail carries (an invitation's link, a one-time code): cleared once delivered or dead.
    Column("payload", String(200)),
    CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
    Index("ix_outbox_status", "status", "next_attempt_at"),
)

# Where notifications go besides e-mail: admins' webhooks, signed with their own secret.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("kinds", Text, nullable=False),  # JSON list of notification kinds, or ["*"]
    Column("secret", String(200), nullable=False),  # the HMAC key (the sender needs it in the clear)
    Column("format", String(16), nullable=False),  # json | slack
    Column("active", Boolean, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("created_by", PERSON, nullable=False),
)

# Which notification e-mails a person wants (None: every kind), and their calendar feed's key.
notify_settings = Table(
    "notify_settings",
    metadata,
    Column("person", PERSON, primary_key=True),
    Column("email_kinds", Text),  # JSON list; None: all
    Column("calendar_key_hash", HASH),  # sha256 of the feed's secret; None: no feed
    Column("updated_at", TIME, nullable=False),
    UniqueConstraint("calendar_key_hash", name="uq_notify_settings_calendar_key_hash"),
)

# A deliverable's versions (issue 23): one row per version of one key in one phase of a project,
# written with its ``deliverable.add`` event. A file's bytes are in ``blobs``, by sha256; a link
# (work that lives elsewhere) has a url and no sha256: phasegate has not seen its content.
deliverables = Table(
    "deliverables",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
    Column("phase", KEY, primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("round", Integer, nullable=False),  # the phase's round it was added in
    Column("kind", String(8), nullable=False),  # file | link
    Column("sha256", HASH),
    Column("size", BigInteger),
    Column("name", String(255)),
    Column("media_type", String(128)),  # sniffed from the bytes, never taken from the name
    Column("note", Text),
    Column("url", String(2000)),
    Column("label", String(200)),
    Column("person", PERSON, nullable=False),
    Column("added_at", TIME, nullable=False),
    Column("seq", Integer, nullable=False),  # the deliverable.add event
    CheckConstraint("kind IN ('file', 'link')", name="kind"),
    Index("ix_deliverables_sha256", "sha256"),
)

# Content-addressed bytes: one row per distinct file, its bytes in ``blob_chunks`` (1 MiB each,
# so nothing is whole in memory) or, with PHASEGATE_FILES, in that directory under its sha256.
blobs = Table(
    "blobs",
    metadata,
    Column("sha256", HASH, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),  # rows in blob_chunks (0: stored in the directory)
    Column("place", String(8), nullable=False),  # db | dir
    Column("stored_at", TIME, nullable=False),
    CheckConstraint("place IN ('db', 'dir')", name="place"),
)

blob_chunks = Table(
    "blob_chunks",
    metadata,
    Column("sha256", HASH, ForeignKey("blobs.sha256"), primary_key=True),
    Column("n", Integer, primary_key=True),  # 0, 1, …
    Column("data", LargeBinary, nullable=False),
)

# Someone away hands their roles to another for a while (``delegate`` events on the system chain;
# ``delegate.end`` ends one early). roles: a JSON list (empty: every role); project None: every project.
delegations = Table(
    "delegations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("person", PERSON, nullable=False),
    Column("delegate", PERSON, nullable=False),
    Column("starts_on", String(10), nullable=False),
    Column("until", String(10), nullable=False),
    Column("roles", Text, nullable=False),
    Column("project", String(64)),
    Column("reason", Text),
    Column("created_at", TIME, nullable=False),
    Column("created_by", PERSON, nullable=False),
    Column("ended_at", TIME),
    Column("ended_by", PERSON),
    Column("seq", Integer, nullable=False),
    Index("ix_delegations_delegate", "delegate", "until"),
    Index("ix_delegations_person", "person", "until"),
)

# Insights (issue 25) and invitations (issue 24): declared in storage/insights/schema.py and
# storage/links/schema.py, on this metadata.
from workflow.storage.insights.schema import insight_projects as insight_projects  # noqa: E402
from workflow.storage.insights.schema import insight_signatures as insight_signatures  # noqa: E402
from workflow.storage.insights.schema import insight_visits as insight_visits  # noqa: E402
from workflow.storage.links.schema import invitations as invitations  # noqa: E402
