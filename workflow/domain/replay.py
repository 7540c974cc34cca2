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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from workflow.domain.events import Event, canonical_json
from workflow.domain.state import ProjectState, Signature, TaskDone
from workflow.domain.vocabulary import ACTIVE, ON_HOLD, TRIGGERS, Status
from workflow.errors import AuditBroken

RoundKey = tuple[str, int, str]  # (phase, round, role)


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
        self.team: dict[str, set[str]] = {}
        self.authority: dict[tuple[str, str], int] = {}
        self.tasks: dict[RoundKey, TaskDone] = {}  # every round's, as the tasks table holds them
        self.approvals: dict[RoundKey, Signature] = {}

    def apply(self, e: Event) -> None:
        """Apply one event (the next of the chain)."""
        if e.seq != self.seq + 1:
            raise AuditBroken(
                f"project {self.code}, event {self.seq + 1}: missing (replay found event "
                f"{e.seq} next); run `phasegate audit verify {self.code}`"
            )
        step = _STEPS.get(e.action)
        if step is None and e.action not in TRIGGERS:
            raise AuditBroken(
                f"project {self.code}, event {e.seq}: unknown action {e.action!r}; "
                f"this phasegate cannot replay it"
            )
        (step or Replay._move)(self, e, e.data)
        self.seq, self.head_hash, self.updated_at = e.seq, e.hash, e.at

    def _create(self, e: Event, d: dict[str, Any]) -> None:
        self.name, self.client, self.template = d.get("name"), d.get("client"), dict(d["template"])
        self.phase, self.round, self.status = d["phase"], d["round"], ACTIVE
        self.rounds = {d["phase"]: d["round"]}
        self.created_at = e.at

    def _assign(self, e: Event, d: dict[str, Any]) -> None:
        self.team.setdefault(d["role"], set()).add(d["person"])
        self.authority[(d["role"], d["person"])] = e.seq

    def _unassign(self, e: Event, d: dict[str, Any]) -> None:
        self.team.get(d["role"], set()).discard(d["person"])
        self.authority.pop((d["role"], d["person"]), None)
        self._void(e, d)

    def _void(self, e: Event, d: dict[str, Any]) -> None:
        """Remove the current round's tasks and approvals the event says it voids."""
        voided = d.get("voided") or {}
        where = (e.phase or self.phase, d["round"])
        for t in voided.get("tasks", ()):
            self.tasks.pop((*where, t["role"]), None)
        for a in voided.get("approvals", ()):
            self.approvals.pop((*where, a["role"]), None)

    def _task_done(self, e: Event, d: dict[str, Any]) -> None:
        self.tasks[(e.phase or self.phase, d["round"], d["role"])] = TaskDone(
            e.actor, d.get("note"), e.at, e.seq
        )

    def _approve(self, e: Event, d: dict[str, Any]) -> None:
        key = (e.phase or self.phase, d["round"], d["role"])
        self.approvals[key] = Signature(e.actor, d.get("comment"), e.at, e.seq)

    def _move(self, e: Event, d: dict[str, Any]) -> None:
        """A machine move: to the phase and round it recorded, in the status it recorded."""
        if d.get("to_phase") is not None:
            self.phase, self.round = d["to_phase"], d["to_round"]
            self.rounds[self.phase] = self.round
        self.status = d.get("status", self.status)
        if e.action == "reject":
            self.rejection_seq = e.seq
        if self.status == ON_HOLD and e.action == "hold":
            self.hold_seq = e.seq

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
            team={role: tuple(people) for role, people in self.team_lists().items()},
            authority=dict(self.authority),
            tasks={role: t for (phase, rnd, role), t in self.tasks.items() if (phase, rnd) == current},
            approvals={
                role: a for (phase, rnd, role), a in self.approvals.items() if (phase, rnd) == current
            },
        )


_STEPS: dict[str, Callable[[Replay, Event, dict[str, Any]], None]] = {
    "create": Replay._create,
    "assign": Replay._assign,
    "unassign": Replay._unassign,
    "task.done": Replay._task_done,
    "approve": Replay._approve,
    "withdraw": Replay._void,
    "task.reopen": Replay._void,
}


def replay(code: str, events: Iterable[Event]) -> Replay:
    state = Replay(code)
    for event in events:
        state.apply(event)
    return state
