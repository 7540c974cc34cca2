"""One command's view of a project, and how that view reads as a :class:`ProjectStatus`.

The Engine builds a :class:`ProjectView` under the project's lock (its row, pinned
template version, team and the current round's tasks and approvals), checks its
rules against it and appends the command's event; ``project status`` and the replay
of history (``workflow/replay.py``) turn the same view into a status, so what a
command enforces and what a person is shown cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection
from transitions import Machine

from workflow.domain.events import canonical_json, event_hash
from workflow.domain.definition import Definition, Phase
from workflow.domain.gates import PhaseEvaluation, evaluate
from workflow.domain.machine import CANCELLED, COMPLETED, ON_HOLD, compile_machine
from workflow.domain.results import Approval, GateStatus, ProjectStatus, TaskStatus
from workflow.domain.events import Event
from workflow.storage.statements import PROJECT_COLUMNS


@dataclass(frozen=True)
class TemplateVersion:
    id: int
    key: str
    version: int
    sha256: str
    definition: Definition
    machine: Machine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up here once: compile_machine's cache key hashes the whole Definition.
        object.__setattr__(self, "machine", compile_machine(self.definition))

    @property
    def ref(self) -> dict[str, Any]:
        return {"key": self.key, "version": self.version, "sha256": self.sha256}


class ProjectRow(NamedTuple):
    id: int
    code: str
    name: str | None
    client: str | None
    template_id: int
    phase: str
    round: int
    status: str
    rounds: str
    seq: int
    head_hash: str
    created_at: str
    updated_at: str


assert ProjectRow._fields == PROJECT_COLUMNS


class DoneTask(NamedTuple):
    """A task marked done in the current round."""

    person: str
    note: str | None
    done_at: str
    seq: int


class Signature(NamedTuple):
    """An approval given in the current round."""

    person: str
    comment: str | None
    approved_at: str
    seq: int


@dataclass
class ProjectView:
    """One command's view of a locked project: its row, template, team and current round."""

    conn: Connection
    row: Any  # ProjectRow on the write path; a Core row or replay's namespace elsewhere
    tpl: TemplateVersion
    actor: str
    now: str
    privileges: set[str] = field(default_factory=set)
    team: dict[str, list[str]] = field(default_factory=dict)
    authority: dict[tuple[str, str], int] = field(default_factory=dict)  # (role, person) -> assign seq
    tasks: dict[str, Any] = field(default_factory=dict)  # role -> DoneTask (or replay's equivalent)
    approvals: dict[str, Any] = field(default_factory=dict)  # role -> Signature

    @property
    def definition(self) -> Definition:
        return self.tpl.definition

    @property
    def phase(self) -> Phase:
        phase = self.definition.phase(self.row.phase)
        assert phase is not None, "a stored phase always exists in its pinned template version"
        return phase

    @property
    def code(self) -> str:
        return str(self.row.code)

    def holds(self, role: str, person: str | None = None) -> bool:
        return (person or self.actor) in self.team.get(role, ())

    def state(self) -> str:
        return (
            self.row.phase
            if self.row.status == "active"
            else ON_HOLD
            if self.row.status == "on_hold"
            else self.row.status
        )

    def evaluation(self) -> PhaseEvaluation:
        return evaluate(
            self.definition,
            self.phase,
            {r: row.person for r, row in self.tasks.items()},
            {r: row.person for r, row in self.approvals.items()},
            self.team,
        )


def event_params(event: Event) -> tuple[Any, ...]:
    return (
        event.chain,
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.phase,
        event.data_json,
        event.prev_hash,
        event.hash,
    )


def new_event(
    chain: str,
    seq: int,
    prev_hash: str,
    at: str,
    actor: str,
    action: str,
    phase: str | None,
    data: dict[str, Any],
) -> Event:
    data_json = canonical_json(data)
    digest = event_hash(prev_hash, chain, seq, at, actor, action, phase, data_json)
    event = Event(chain, seq, at, actor, action, phase, data_json, prev_hash, digest)
    event.__dict__["data"] = data  # the parsed form is at hand: prime Event.data's cache
    return event


_ENTERED: dict[tuple[str, str], tuple[int, str]] = {}
_ENTERED_BOUND = 4096


def enter(ctx: ProjectView, phase: str) -> tuple[int, str]:
    """The round number a (re-)entered phase starts, and the updated rounds counter."""
    return _enter(ctx.row.rounds, phase)


def _enter(rounds_json: str, phase: str) -> tuple[int, str]:
    """``enter`` on the stored counter text: a pure function, remembered (projects share a few
    counters: every project on a template moves through the same phases), which spares an
    advance parsing and re-encoding JSON."""
    key = (rounds_json, phase)
    found = _ENTERED.get(key)
    if found is None:
        rounds = json.loads(rounds_json)
        rounds[phase] = rounds.get(phase, 0) + 1
        found = (rounds[phase], canonical_json(rounds))
        if len(_ENTERED) >= _ENTERED_BOUND:
            _ENTERED.clear()
        _ENTERED[key] = found
    return found


def meaning(gate_title: str, phase_title: str, round_no: int) -> str:
    return f"{gate_title} for {phase_title}, round {round_no}"


def status_of(ctx: ProjectView) -> ProjectStatus:
    definition, phase, row = ctx.definition, ctx.phase, ctx.row
    evaluation = ctx.evaluation()
    tasks = []
    for role, task in phase.tasks:
        done = ctx.tasks.get(role)
        tasks.append(
            TaskStatus(
                role=role,
                role_title=definition.role_title(role),
                task=task,
                done=done is not None,
                by=done.person if done else None,
                at=done.done_at if done else None,
                note=done.note if done else None,
            )
        )
    gate = None
    if phase.gate is not None:
        g = phase.gate
        gate = GateStatus(
            title=g.title,
            approvers=list(g.approvers),
            required=g.required,
            distinct_people=g.distinct_people,
            on_reject=g.on_reject,
            satisfied=evaluation.gate_satisfied,
            missing=list(evaluation.gate_missing),
            approvals=[
                Approval(
                    role=r,
                    role_title=definition.role_title(r),
                    person=a.person,
                    at=a.approved_at,
                    comment=a.comment,
                )
                for r in g.approvers
                if (a := ctx.approvals.get(r)) is not None
            ],
        )
    blockers = list(evaluation.blockers)
    lead_people = ", ".join(ctx.team.get(definition.lead, ())) or "nobody holds this role yet"
    lead_title = definition.role_title(definition.lead)
    if row.status == "on_hold":
        blockers = [f"the project is on hold: the {lead_title} can resume it ({lead_people})"]
    elif row.status in (COMPLETED, CANCELLED):
        blockers = [f"the project is {row.status}"]
    elif evaluation.ready:
        blockers = []
    team = {r.key: list(ctx.team.get(r.key, [])) for r in definition.roles}
    return ProjectStatus(
        code=row.code,
        name=row.name,
        client=row.client,
        template=ctx.tpl.key,
        template_version=ctx.tpl.version,
        template_sha256=ctx.tpl.sha256,
        phase=row.phase,
        phase_title=phase.title,
        phase_number=definition.phase_position(row.phase) + 1,
        phase_count=len(definition.phases),
        round=row.round,
        status=row.status,
        lead=definition.lead,
        can_advance=row.status == "active" and evaluation.ready,
        blockers=blockers,
        tasks=tasks,
        gate=gate,
        team=team,
        seq=row.seq,
        updated_at=row.updated_at,
    )
