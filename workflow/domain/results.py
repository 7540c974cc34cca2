"""What the Engine hands back: typed, read-only views with a ``to_dict()`` for ``--json``.

Field names are the contract of ``project status --json`` and history events
(product.md); add fields freely, never rename.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from workflow.domain.audit.events import Event


class Result:
    """A value the Engine hands back whose ``to_dict()`` (``--json``, the API) is its fields as they are."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(cast(Any, self))


@dataclass(frozen=True)
class TaskStatus:
    role: str
    role_title: str
    task: str
    done: bool
    by: str | None = None
    at: str | None = None
    note: str | None = None
    auth: str | None = None  # how ``by`` was authenticated


@dataclass(frozen=True)
class Approval:
    role: str
    role_title: str
    person: str
    at: str
    comment: str | None = None
    auth: str = "asserted"


@dataclass(frozen=True)
class GateStatus:
    title: str
    approvers: list[str]
    required: str | int
    distinct_people: bool
    on_reject: str
    satisfied: bool
    missing: list[str]
    approvals: list[Approval]


@dataclass(frozen=True)
class ProjectStatus(Result):
    code: str
    name: str | None
    client: str | None
    template: str
    template_version: int
    template_sha256: str
    phase: str
    phase_title: str
    phase_number: int
    phase_count: int
    round: int
    status: str
    lead: str
    can_advance: bool
    blockers: list[str]
    tasks: list[TaskStatus]
    gate: GateStatus | None
    team: dict[str, list[str]]
    seq: int
    updated_at: str
    as_of: str | None = None  # set when the status was rebuilt from history at a past moment
    # Who can clear what now: [{"kind": "task" | "approval", "role", "role_title", "people", "title"}] (the
    # blockers, as data; "title": the task's words, or the gate's title).
    waiting: list[dict[str, Any]] = field(default_factory=list)
    hold: dict[str, Any] | None = None  # while on hold: {"by", "at", "reason"}
    rounds: dict[str, int] = field(default_factory=dict)  # phase -> rounds entered so far
    last_rejection: dict[str, Any] | None = None  # {"by", "at", "role", "reason", "phase", "round", ...}
    # The schedule (workflow/domain/timers.py due_view): the round's due date, whether it has
    # passed, working days left (negative: overdue by), the calendar, the start date, and
    # every phase's due date [{"phase", "title", "duration", "due", "state"}].
    due: str | None = None
    overdue: bool = False
    due_in_days: int | None = None
    calendar: str | None = None
    starts_on: str | None = None
    schedule: list[dict[str, Any]] = field(default_factory=list)
    # The current phase's deliverables: [{"key", "title", "required", "by", "current"}], "current" the
    # newest version ({"version", "sha256", "kind", "name", "url", "note"}) or None (issue 23).
    deliverables: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectSummary(Result):
    code: str
    name: str | None
    client: str | None
    template: str
    template_version: int
    phase: str
    phase_title: str
    round: int
    status: str
    waiting_on: list[str]
    updated_at: str
    # The same as data: [{"kind": "task" | "approval" | "resume", "role", "role_title", "people", "title"}]
    # (who can clear what now; "resume": the project is on hold and these people can resume it).
    waiting: list[dict[str, Any]] = field(default_factory=list)
    can_advance: bool = False
    lead: str = ""
    lead_people: list[str] = field(default_factory=list)  # who may advance, hold, resume, cancel
    seq: int = 0
    phase_number: int = 0
    phase_count: int = 0
    due: str | None = None
    overdue: bool = False
    due_in_days: int | None = None


@dataclass(frozen=True)
class Person(Result):
    """An account: who may sign in (``active``), and whether a password is set."""

    login: str
    display_name: str | None
    email: str | None
    active: bool
    has_password: bool
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class TokenInfo(Result):
    """An API token as listed: never its secret (shown once, when it is created)."""

    id: str
    person: str
    name: str | None
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


@dataclass(frozen=True)
class WebhookInfo(Result):
    """A webhook as listed: never its secret, only a fingerprint of it (the first 12 hex of its sha256)."""

    id: str
    url: str
    kinds: list[str]  # notification kinds, or ["*"]: every kind
    format: str  # json | slack
    active: bool
    created_at: str
    created_by: str
    fingerprint: str


@dataclass(frozen=True)
class OutboxEntry(Result):
    """One notification of the outbox: what it is about, where it goes, how its delivery stands."""

    id: int
    chain: str
    seq: int
    kind: str
    people: list[str]
    channel: str  # email | webhook
    target: str  # the e-mail address, or the webhook's id
    status: str  # pending | delivered | dead
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    delivered_at: str | None


@dataclass(frozen=True)
class NotifySettings(Result):
    """Which notification e-mails a person gets (``email_kinds`` None: every kind; []: none)."""

    person: str
    email_kinds: list[str] | None


@dataclass(frozen=True)
class TemplateInfo(Result):
    key: str
    version: int
    title: str
    sha256: str
    published_at: str
    published_by: str


# The problems of the state check: a table that is not what its chain's replay says, and an
# intact event that cannot be replayed (appended with valid hashes, but not by phasegate).
STATE_DIFFERS = "state differs"
UNREPLAYABLE = "unreplayable"


@dataclass(frozen=True)
class BrokenEvent:
    chain: str
    seq: int  # the event; for ``state differs``, the chain's last (the state after it)
    problem: str  # edited | missing | reordered | forked | state differs | unreplayable
    detail: str

    def __str__(self) -> str:
        where = "templates and grants" if self.chain.startswith("@") else f"project {self.chain}"
        return f"{where}, event {self.seq}: {self.problem} ({self.detail})"


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    events_checked: int
    chains_checked: int
    first_broken: BrokenEvent | None = None
    checkpoint_chains: int | None = None  # chains a checkpoint was checked against (None: no checkpoint)
    checkpoint_created_at: str | None = None
    checkpoint_signed: bool | None = None  # True: HMAC checked; False: no signature was required
    checkpoint_signature: str | None = None  # "checked" | "not checked" | "none"; None: no checkpoint
    # How many processes did the verifying (a large SQLite file is split; see storage/audit/parallel.py).
    # Not part of the answer: a split pass and one pass compare equal.
    processes: int = field(default=1, compare=False)
    # Whether the state tables were compared with the replay of the chains (``replay=True`` and
    # every chain intact; see storage/audit/state.py).
    state_checked: bool = False

    def raise_for_broken(self) -> None:
        """Raise :class:`~workflow.errors.AuditBroken` naming the first broken event, if any."""
        if not self.ok:
            from workflow.errors import AuditBroken

            raise AuditBroken(f"audit verification failed: {self.first_broken}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["first_broken"] = (
            None
            if self.first_broken is None
            else {
                **asdict(self.first_broken),
                "project": None if self.first_broken.chain.startswith("@") else self.first_broken.chain,
            }
        )
        return d


@dataclass(frozen=True)
class Notice:
    """A notice a tick would give (a try-out writes nothing): ``kind`` for ``people`` on ``project``."""

    project: str
    phase: str
    round: int
    kind: str  # overdue | remind | escalate
    people: tuple[str, ...]
    waiting_on: tuple[str, ...] = ()  # the signers an escalation is about

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "phase": self.phase, "round": self.round, "kind": self.kind,
                "people": list(self.people), "waiting_on": list(self.waiting_on)}


@dataclass
class TickReport:
    """What one tick did: how many projects it looked at, and the events it recorded; or, for a
    try-out (``dry_run``), the notices a tick at ``at`` would give (``would``), nothing written."""

    at: str
    projects: int = 0
    events: list[Event] = field(default_factory=list)
    dry_run: bool = False
    would: list[Notice] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"remind": 0, "escalate": 0, "overdue": 0}
        for kind in [e.action for e in self.events] + [n.kind for n in self.would]:
            out[kind] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "projects": self.projects, **self.counts(), "dry_run": self.dry_run,
                "events": [e.to_dict() for e in self.events], "would": [n.to_dict() for n in self.would]}
