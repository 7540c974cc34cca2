"""Rebuilding a project's state from its events alone.

The history is the record; the ``projects``, ``assignments``, ``tasks`` and
``approvals`` rows are a cache of it that the engine keeps in the same transaction.
Replaying the events (oldest first) must land on exactly those rows — a property
test checks it after random command sequences — and replaying only the events up
to a moment gives the project as it stood then (``project status CODE --at``).

Replay follows what each event recorded (``to_phase``, ``to_round``, ``status``),
not what the rules would decide today: it reconstructs what happened, under the
template version the project was pinned to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from workflow.errors import AuditBroken
from workflow.domain.results import ProjectStatus
from workflow.domain.events import Event

if TYPE_CHECKING:
    from workflow.project_view import TemplateVersion


@dataclass(frozen=True)
class DoneTask:
    person: str
    note: str | None
    done_at: str
    seq: int


@dataclass(frozen=True)
class Signed:
    person: str
    comment: str | None
    approved_at: str
    seq: int


@dataclass
class ProjectState:
    """What the stored rows of one project hold, rebuilt from its events."""

    code: str
    name: str | None = None
    client: str | None = None
    template: dict[str, Any] = field(default_factory=dict)  # {"key", "version", "sha256"}
    phase: str = ""
    round: int = 0
    status: str = "active"
    rounds: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    head_hash: str = ""
    created_at: str = ""
    updated_at: str = ""
    team: dict[str, set[str]] = field(default_factory=dict)
    authority: dict[tuple[str, str], int] = field(default_factory=dict)  # (role, person) -> assign seq
    tasks: dict[tuple[str, int, str], DoneTask] = field(default_factory=dict)  # (phase, round, role)
    approvals: dict[tuple[str, int, str], Signed] = field(default_factory=dict)

    def apply(self, e: Event) -> None:
        """Apply one event (the next of the chain) to the state."""
        if e.seq != self.seq + 1:
            raise AuditBroken(f"project {self.code}, event {self.seq + 1}: missing (replay found event "
                              f"{e.seq} next); run `phasegate audit verify {self.code}`")
        d = e.data
        action = e.action
        if action == "create":
            self.name, self.client, self.template = d.get("name"), d.get("client"), dict(d["template"])
            self.phase, self.round, self.status = d["phase"], d["round"], "active"
            self.rounds = {d["phase"]: d["round"]}
            self.created_at = e.at
        elif action == "assign":
            self.team.setdefault(d["role"], set()).add(d["person"])
            self.authority[(d["role"], d["person"])] = e.seq
        elif action == "unassign":
            self.team.get(d["role"], set()).discard(d["person"])
            self.authority.pop((d["role"], d["person"]), None)
        elif action == "task.done":
            self.tasks[(e.phase or self.phase, d["round"], d["role"])] = DoneTask(
                e.actor, d.get("note"), e.at, e.seq)
        elif action == "approve":
            self.approvals[(e.phase or self.phase, d["round"], d["role"])] = Signed(
                e.actor, d.get("comment"), e.at, e.seq)
        elif action in ("reject", "advance"):
            if d.get("status") == "completed":
                self.status = "completed"
            else:
                self.phase, self.round = d["to_phase"], d["to_round"]
                self.rounds[self.phase] = self.round
                self.status = "active"
        elif action in ("hold", "resume", "cancel"):
            self.status = d["status"]
        else:
            raise AuditBroken(f"project {self.code}, event {e.seq}: unknown action {action!r}; "
                              f"this phasegate cannot replay it")
        self.seq, self.head_hash, self.updated_at = e.seq, e.hash, e.at

    def team_lists(self) -> dict[str, list[str]]:
        return {role: sorted(people) for role, people in self.team.items() if people}

    def rounds_json(self) -> str:
        from workflow.domain.events import canonical_json

        return canonical_json(self.rounds)


def replay(code: str, events: Iterable[Event]) -> ProjectState:
    state = ProjectState(code)
    for event in events:
        state.apply(event)
    return state


def status_of(state: ProjectState, tpl: TemplateVersion, as_of: str | None) -> ProjectStatus:
    """The :class:`ProjectStatus` the engine would show for ``state`` (its own view, reused)."""
    from workflow.project_view import ProjectView
    from workflow.project_view import status_of as view_status

    row = SimpleNamespace(
        code=state.code, name=state.name, client=state.client, phase=state.phase, round=state.round,
        status=state.status, seq=state.seq, updated_at=state.updated_at, rounds=json.dumps(state.rounds),
    )
    ctx = ProjectView(None, row, tpl, "", state.updated_at)  # type: ignore[arg-type]
    ctx.team = state.team_lists()
    ctx.tasks = {role: t for (phase, rnd, role), t in state.tasks.items()
                 if phase == state.phase and rnd == state.round}
    ctx.approvals = {role: a for (phase, rnd, role), a in state.approvals.items()
                     if phase == state.phase and rnd == state.round}
    return replace(view_status(ctx), as_of=as_of)
