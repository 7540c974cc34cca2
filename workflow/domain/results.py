"""What the Engine hands back: typed, read-only views with a ``to_dict()`` for ``--json``.

Field names are the contract of ``project status --json`` and history events
(product.md); add fields freely, never rename.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workflow.domain.schedule.clock import due_view
from workflow.domain.vocabulary import ACTIVE, CLOSED, ON_HOLD

if TYPE_CHECKING:
    from workflow.domain.audit.events import Event
    from workflow.domain.state import ProjectState
    from workflow.domain.templates.definition import Definition
    from workflow.domain.templates.version import TemplateVersion


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
class ProjectStatus:
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
    # Who can clear what now: [{"kind": "task" | "approval", "role", "people"}] (the blockers, as data).
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProjectSummary:
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
    # The same as data: [{"kind": "task" | "approval", "role", "people"}] (who can clear what now).
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Person:
    """An account: who may sign in (``active``), and whether a password is set."""

    login: str
    display_name: str | None
    email: str | None
    active: bool
    has_password: bool
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: never its secret (shown once, when it is created)."""

    id: str
    person: str
    name: str | None
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WebhookInfo:
    """A webhook as listed: never its secret, only a fingerprint of it (the first 12 hex of its sha256)."""

    id: str
    url: str
    kinds: list[str]  # notification kinds, or ["*"]: every kind
    format: str  # json | slack
    active: bool
    created_at: str
    created_by: str
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OutboxEntry:
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NotifySettings:
    """Which notification e-mails a person gets (``email_kinds`` None: every kind; []: none)."""

    person: str
    email_kinds: list[str] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    version: int
    title: str
    sha256: str
    published_at: str
    published_by: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


# -- a project's state as it reads ---------------------------------------------------------------


def project_status(
    state: ProjectState,
    tpl: TemplateVersion,
    as_of: str | None = None,
    *,
    recent: Mapping[str, Event] | None = None,
    now: str | None = None,
) -> ProjectStatus:
    """What ``project status`` shows for ``state`` (rebuilt from history when ``as_of`` is set).

    ``recent``: the project's latest ``hold`` and ``reject`` events, if it has any (the
    status then says why it is held and what its last rejection said).
    """
    definition = tpl.definition
    phase = state.phase_of(definition)
    evaluation = state.evaluation(definition)
    tasks = [
        _task_status(definition.role_title(role), role, task, state.tasks.get(role))
        for role, task in phase.tasks
    ]
    gate = None
    if phase.gate is not None:
        g = phase.gate
        approvals = [
            Approval(r, definition.role_title(r), a.person, a.at, a.comment, a.auth)
            for r in g.approvers
            if (a := state.approvals.get(r)) is not None
        ]
        gate = GateStatus(
            g.title,
            list(g.approvers),
            g.required,
            g.distinct_people,
            g.on_reject,
            evaluation.gate_satisfied,
            list(evaluation.gate_missing),
            approvals,
        )
    status = ProjectStatus(
        code=state.code,
        name=state.name,
        client=state.client,
        template=tpl.key,
        template_version=tpl.version,
        template_sha256=tpl.sha256,
        phase=state.phase,
        phase_title=phase.title,
        phase_number=definition.phase_position(state.phase) + 1,
        phase_count=len(definition.phases),
        round=state.round,
        status=state.status,
        lead=definition.lead,
        can_advance=state.status == ACTIVE and evaluation.ready,
        blockers=_blockers(state, definition, list(evaluation.blockers), evaluation.ready),
        tasks=tasks,
        gate=gate,
        team={r.key: list(state.team.get(r.key, ())) for r in definition.roles},
        seq=state.seq,
        updated_at=state.updated_at,
        as_of=as_of,
        waiting=_waiting(evaluation, definition) if state.status == ACTIVE else [],
        hold=_hold(recent or {}) if state.status == ON_HOLD else None,
        rounds=json.loads(state.rounds),
        last_rejection=_rejection((recent or {}).get("reject")),
        **due_view(definition, state.clock, state.phase, state.status, as_of or now),
    )
    return status


def _waiting(evaluation: Any, definition: Definition) -> list[dict[str, Any]]:
    def entry(kind: str, role: str, people: tuple[str, ...]) -> dict[str, Any]:
        return {"kind": kind, "role": role, "role_title": definition.role_title(role), "people": list(people)}

    return [entry("task", r, p) for r, p in evaluation.can_do.items()] + [
        entry("approval", r, p) for r, p in evaluation.can_sign.items()
    ]


def _hold(recent: Mapping[str, Event]) -> dict[str, Any] | None:
    event = recent.get("hold")
    return None if event is None else {"by": event.actor, "at": event.at, "reason": event.data.get("reason")}


def _rejection(event: Event | None) -> dict[str, Any] | None:
    if event is None:
        return None
    d = event.data
    return {
        "by": event.actor,
        "at": event.at,
        "role": d.get("role"),
        "role_title": d.get("role_title"),
        "reason": d.get("reason"),
        "gate": d.get("gate"),
        "phase": event.phase,
        "phase_title": d.get("phase_title"),
        "round": d.get("round"),
        "to_phase": d.get("to_phase"),
        "to_round": d.get("to_round"),
    }


def _task_status(role_title: str, role: str, task: str, done: Any) -> TaskStatus:
    if done is None:
        return TaskStatus(role, role_title, task, False)
    return TaskStatus(role, role_title, task, True, done.person, done.at, done.note, done.auth)


def _blockers(state: ProjectState, definition: Any, blockers: list[str], ready: bool) -> list[str]:
    if state.status == ON_HOLD:
        lead_people = ", ".join(state.team.get(definition.lead, ())) or "nobody holds this role yet"
        return [
            f"the project is on hold: the {definition.role_title(definition.lead)} can resume it "
            f"({lead_people})"
        ]
    if state.status in CLOSED:
        return [f"the project is {state.status}"]
    return [] if ready else blockers


def project_summary(state: ProjectState, tpl: TemplateVersion, now: str | None = None) -> ProjectSummary:
    """One line of the board: where the project is and what it waits on."""
    status = project_status(state, tpl, now=now)
    return ProjectSummary(
        code=state.code,
        name=state.name,
        client=state.client,
        template=tpl.key,
        template_version=tpl.version,
        phase=state.phase,
        phase_title=status.phase_title,
        round=state.round,
        status=state.status,
        waiting_on=status.blockers,
        updated_at=state.updated_at,
        waiting=status.waiting,
        can_advance=status.can_advance,
        lead=status.lead,
        lead_people=list(status.team.get(status.lead, [])),
        seq=state.seq,
        phase_number=status.phase_number,
        phase_count=status.phase_count,
        due=status.due,
        overdue=status.overdue,
        due_in_days=status.due_in_days,
    )


def template_document(info: TemplateInfo, definition: Any) -> dict[str, Any]:
    """The ``template show --json`` document."""
    phases = []
    for phase in definition.phases:
        gate = phase.gate
        phases.append(
            {
                "key": phase.key,
                "title": phase.title,
                "tasks": [{"role": role, "task": task} for role, task in phase.tasks],
                "gate": None
                if gate is None
                else {
                    "title": gate.title,
                    "approvers": list(gate.approvers),
                    "required": gate.required,
                    "distinct_people": gate.distinct_people,
                    "on_reject": gate.on_reject,
                },
            }
        )
    return {
        "key": info.key,
        "version": info.version,
        "title": info.title,
        "sha256": info.sha256,
        "published_at": info.published_at,
        "published_by": info.published_by,
        "roles": [{"key": r.key, "title": r.title} for r in definition.roles],
        "lead": definition.lead,
        "phases": phases,
    }
