"""Rebuilding a project from its events alone.

The history is the record; the ``projects``, ``assignments``, ``tasks`` and
``approvals`` rows are a cache of it that the engine keeps in the same transaction.
Replaying the events (oldest first) must land on exactly those rows — a property
test checks it after random command sequences — and replaying only the events up
to a moment gives the project as it stood then (``project status CODE --at``).

Replay follows what each event recorded (``to_phase``, ``to_round``, ``status``),
not what the rules would decide today: it reconstructs what happened, under the
template version the project was pinned to. It is not a second transition table:
a move (any machine trigger) lands where its event says it did.

The system chain (templates, grants, accounts, tokens, webhooks) has its own replay,
:class:`~workflow.domain.audit.system_replay.SystemReplay`. ``audit verify`` compares both
replays with the stored rows (``workflow/storage/audit/state.py``).

What an event records of the clock and of credentials: a project's gate opening
(``gate_opened_at``, in the create event and in every event that moves it), each notice a
tick gave (the ``timers`` rows), and the sha256 of each credential set (a token's secret,
a calendar key, a password's argon2 hash). Events an older phasegate wrote lack them:
replay then holds :data:`UNRECORDED` for the value, which agrees with whatever is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from workflow.domain.audit.events import SYSTEM_CHAIN, canonical_json
from workflow.domain.deliverables import Current
from workflow.domain.state import ProjectState, Signature, TaskDone
from workflow.domain.vocabulary import ACTIVE, ASSERTED, CLOCK_ACTIONS, ON_HOLD, TRIGGERS, Status
from workflow.errors import AuditBroken

RoundKey = tuple[str, int, str]  # (phase, round, role)
TimerKey = tuple[str, int, str, str]  # (phase, round, kind, person): a notice a tick gave


class _Unrecorded:
    """What an event written before phasegate recorded a value says of it (a credential's fingerprint,
    the gate's opening): nothing, so whatever is stored agrees, until the next event records one."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "(not recorded)"


UNRECORDED: Any = _Unrecorded()
NOTICES = CLOCK_ACTIONS


class Recorded(Protocol):
    """What replay reads of an event: an :class:`~workflow.domain.audit.events.Event`, or a
    :class:`~workflow.domain.audit.events.ParsedEvent` (``audit verify`` replays millions)."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def phase(self) -> str | None: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def hash(self) -> str: ...


class Unreplayable(AuditBroken):
    """An event this replay cannot apply: out of sequence, an unknown action, or data it lacks.

    Carries the chain, the event and the reason apart, so ``audit verify`` can name them
    the way it names a broken hash.
    """

    def __init__(self, chain: str, seq: int, reason: str) -> None:
        where = "templates and grants" if chain == SYSTEM_CHAIN else f"project {chain}"
        super().__init__(f"{where}, event {seq}: {reason}")
        self.chain, self.seq, self.reason = chain, seq, reason


class Assignment(NamedTuple):
    """Who assigned a person to a role, when, and the event that did it (an ``assignments`` row)."""

    at: str
    by: str
    seq: int


def step_or_refuse(chain: str, expected: int, e: Recorded, known: bool) -> None:
    if e.seq != expected:
        raise Unreplayable(chain, expected, f"missing (replay found event {e.seq} next); "
                           f"run `phasegate audit verify{'' if chain == SYSTEM_CHAIN else ' ' + chain}`")
    if not known:
        raise Unreplayable(chain, e.seq, f"unknown action {e.action!r}; this phasegate cannot replay it")


def unreadable(chain: str, e: Recorded, exc: Exception) -> Unreplayable:
    """Data that lacks what its action records (appended with valid hashes, but not by phasegate)."""
    what = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else "a value of the wrong type"
    return Unreplayable(chain, e.seq, f"its data has {what} (action {e.action!r})")


class Replay:
    """A project's history applied event by event: the current state and every round's rows."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.name: str | None = None
        self.client: str | None = None
        self.template: dict[str, Any] = {}  # {"key", "version", "sha256"}
        self.phase = ""
        self.round = 0
        self.status: Status = ACTIVE
        self.rounds: dict[str, int] = {}
        self.seq = 0
        self.head_hash = ""
        self.created_at = ""
        self.updated_at = ""
        self.hold_seq: int | None = None
        self.rejection_seq: int | None = None
        self.calendar: str | None = None  # the schedule as the record has it (workflow/domain/timers.py)
        self.starts_on: str | None = None
        self.due_on: str | None = None
        self.gate_opened_at: Any = UNRECORDED  # recorded from this version's create on (str | None)
        self.planned_due: dict[str, str] = {}
        self.team: dict[str, set[str]] = {}
        self.authority: dict[tuple[str, str], int] = {}
        self.assignments: dict[tuple[str, str], Assignment] = {}  # as the assignments table holds them
        self.tasks: dict[RoundKey, TaskDone] = {}  # every round's, as the tasks table holds them
        self.approvals: dict[RoundKey, Signature] = {}
        self.timers: dict[TimerKey, int] = {}  # every round's notices given, as the timers table holds them
        self.deliverables: dict[tuple[str, str], Current] = {}  # (phase, key) -> its newest version

    def apply(self, e: Recorded) -> None:
        """Apply one event (the next of the chain); :class:`Unreplayable` if it cannot be."""
        step = _STEPS.get(e.action)
        step_or_refuse(self.code, self.seq + 1, e, step is not None or e.action in TRIGGERS)
        try:
            (step or Replay._move)(self, e, e.data)
            if "gate_opened_at" in e.data:  # the gate's opening as it stands after the event
                self.gate_opened_at = e.data["gate_opened_at"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise unreadable(self.code, e, exc) from None
        self.seq, self.head_hash, self.updated_at = e.seq, e.hash, e.at

    def _create(self, e: Recorded, d: dict[str, Any]) -> None:
        self.name, self.client, self.template = d.get("name"), d.get("client"), dict(d["template"])
        self.phase, self.round, self.status = d["phase"], d["round"], ACTIVE
        self.rounds = {d["phase"]: d["round"]}
        self.created_at = e.at
        self.calendar, self.starts_on, self.due_on = d.get("calendar"), d.get("starts_on"), d.get("due_on")

    def _due(self, e: Recorded, d: dict[str, Any]) -> None:
        if d["for_phase"] == self.phase:
            self.due_on = d["due_on"]
        else:
            self.planned_due[d["for_phase"]] = d["due_on"]

    def _assign(self, e: Recorded, d: dict[str, Any]) -> None:
        self.team.setdefault(d["role"], set()).add(d["person"])
        self.authority[(d["role"], d["person"])] = e.seq
        self.assignments[(d["role"], d["person"])] = Assignment(e.at, e.actor, e.seq)

    def _unassign(self, e: Recorded, d: dict[str, Any]) -> None:
        self.team.get(d["role"], set()).discard(d["person"])
        self.authority.pop((d["role"], d["person"]), None)
        self.assignments.pop((d["role"], d["person"]), None)
        self._void(e, d)

    def _invite(self, e: Recorded, d: dict[str, Any]) -> None:
        """An outside signer invited (issue 24): they join the role, unless they hold it already."""
        if d["joined"]:
            self._assign(e, d)

    def _invite_revoke(self, e: Recorded, d: dict[str, Any]) -> None:
        """An invitation revoked: its signer leaves the role (with their approval of the round)."""
        if d["left"]:
            self._unassign(e, d)

    def _void(self, e: Recorded, d: dict[str, Any]) -> None:
        """Remove the current round's tasks and approvals the event says it voids."""
        voided = d.get("voided") or {}
        where = (e.phase or self.phase, d["round"])
        for t in voided.get("tasks", ()):
            self.tasks.pop((*where, t["role"]), None)
        for a in voided.get("approvals", ()):
            self.approvals.pop((*where, a["role"]), None)

    def _deliverable(self, e: Recorded, d: dict[str, Any]) -> None:
        """A version added: the newest of its key; the approvals it voided go."""
        self._void(e, d)
        self.deliverables[(e.phase or self.phase, d["key"])] = Current(
            d["version"], d.get("sha256"), d.get("kind", "file"), d.get("name") or d.get("label"),
            d.get("url"), d.get("note"))

    def _task_done(self, e: Recorded, d: dict[str, Any]) -> None:
        self.tasks[(e.phase or self.phase, d["round"], d["role"])] = TaskDone(
            e.actor, d.get("note"), e.at, e.seq, d.get("auth", ASSERTED), d.get("on_behalf_of")
        )

    def _approve(self, e: Recorded, d: dict[str, Any]) -> None:
        key = (e.phase or self.phase, d["round"], d["role"])
        self.approvals[key] = Signature(e.actor, d.get("comment"), e.at, e.seq, d.get("auth", ASSERTED),
                                        d.get("on_behalf_of"))

    def _move(self, e: Recorded, d: dict[str, Any]) -> None:
        """A machine move: to the phase and round it recorded, in the status it recorded."""
        if d.get("to_phase") is not None:
            self.phase, self.round = d["to_phase"], d["to_round"]
            self.rounds[self.phase] = self.round
            planned = self.planned_due.pop(self.phase, None) if self.round == 1 else None
            self.due_on = d.get("due_on", planned)
        elif "due_on" in d:  # a resume moves the due date by the hold
            self.due_on = d["due_on"]
        self.status = d.get("status", self.status)
        if e.action == "reject":
            self.rejection_seq = e.seq
        if self.status == ON_HOLD and e.action == "hold":
            self.hold_seq = e.seq

    def _notice(self, e: Recorded, d: dict[str, Any]) -> None:
        """A tick's notice: given once per round, kind and person (the timers table's key)."""
        for person in d["people"]:
            self.timers[(e.phase or self.phase, d["round"], e.action, person)] = e.seq

    def given(self) -> set[tuple[str, str]]:
        """The (kind, person) notices given in the current round."""
        here = (self.phase, self.round)
        return {(kind, person) for (phase, rnd, kind, person) in self.timers if (phase, rnd) == here}

    def team_lists(self) -> dict[str, list[str]]:
        return {role: sorted(people) for role, people in self.team.items() if people}

    def state(self, template_id: int) -> ProjectState:
        """The project as it stands after the events applied so far (on template version ``template_id``)."""
        current = (self.phase, self.round)
        return ProjectState(
            id=None,
            code=self.code,
            name=self.name,
            client=self.client,
            template_id=template_id,
            phase=self.phase,
            round=self.round,
            status=self.status,
            rounds=canonical_json(self.rounds),
            seq=self.seq,
            head_hash=self.head_hash,
            created_at=self.created_at,
            updated_at=self.updated_at,
            hold_seq=self.hold_seq,
            rejection_seq=self.rejection_seq,
            calendar=self.calendar,
            starts_on=self.starts_on,
            due_on=self.due_on,
            gate_opened_at=None if self.gate_opened_at is UNRECORDED else self.gate_opened_at,
            planned_due=canonical_json(self.planned_due) if self.planned_due else None,
            next_tick_at=None,
            team={role: tuple(people) for role, people in self.team_lists().items()},
            authority=dict(self.authority),
            tasks={role: t for (phase, rnd, role), t in self.tasks.items() if (phase, rnd) == current},
            approvals={
                role: a for (phase, rnd, role), a in self.approvals.items() if (phase, rnd) == current
            },
            deliverables={key: c for (phase, key), c in self.deliverables.items() if phase == self.phase},
        )


_STEPS: dict[str, Callable[[Replay, Recorded, dict[str, Any]], None]] = {
    "create": Replay._create,
    "assign": Replay._assign,
    "unassign": Replay._unassign,
    "task.done": Replay._task_done,
    "approve": Replay._approve,
    "withdraw": Replay._void,
    "task.reopen": Replay._void,
    "deliverable.add": Replay._deliverable,
    "invite": Replay._invite,
    "invite.revoke": Replay._invite_revoke,
    "due": Replay._due,
    # tick's notices: on the record, each with its timers rows
    "remind": Replay._notice,
    "escalate": Replay._notice,
    "overdue": Replay._notice,
}


def replay(code: str, events: Iterable[Recorded]) -> Replay:
    state = Replay(code)
    for event in events:
        state.apply(event)
    return state
