"""A project as it stands: one immutable value, however it was obtained.

The engine loads it from the database under the project's lock
(``workflow/storage/project_rows.py``); replay rebuilds it from the history
(``workflow/domain/replay.py``). Rules, gates and the status a person is shown all
read this one value, so what a command enforces and what a person sees cannot
drift apart.

The values are NamedTuples: immutable, and several times cheaper to build than
frozen dataclasses, which matters because every command builds one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from workflow.domain.audit.events import canonical_json
from workflow.domain.deliverables import Current
from workflow.domain.duties.delegations import Delegation
from workflow.domain.duties.signing import Earlier
from workflow.domain.gates import Duties, PhaseEvaluation, evaluate
from workflow.domain.schedule.clock import Clock
from workflow.domain.templates.definition import Definition, Phase
from workflow.domain.vocabulary import ASSERTED, Status


class TaskDone(NamedTuple):
    """A role's task marked done in the current round."""

    person: str
    note: str | None
    at: str
    seq: int  # the event that recorded it
    auth: str = ASSERTED  # how the person was authenticated
    on_behalf_of: str | None = None  # whom ``person`` acted for, through a delegation


class Signature(NamedTuple):
    """A role's approval of the current round's gate."""

    person: str
    comment: str | None
    at: str
    seq: int
    auth: str = ASSERTED
    on_behalf_of: str | None = None  # whom ``person`` signed for, through a delegation


class ProjectState(NamedTuple):
    """One project: its stored fields, its team and its current round."""

    id: int | None  # the storage row (None for a state rebuilt from history)
    code: str
    name: str | None
    client: str | None
    template_id: int  # the template version the project is pinned to
    phase: str
    round: int
    status: Status
    rounds: str  # canonical JSON {phase: rounds entered so far}, to number a re-entered phase
    seq: int  # the chain head: the last event's number and hash
    head_hash: str
    created_at: str
    updated_at: str
    hold_seq: int | None  # the latest hold event, and the latest rejection (their seq)
    rejection_seq: int | None
    # The schedule (workflow/domain/timers.py Clock): calendar, start date, the round's due date,
    # when its gate opened, due dates set ahead (JSON), the next moment tick looks at it.
    calendar: str | None
    starts_on: str | None
    due_on: str | None
    gate_opened_at: str | None
    planned_due: str | None
    next_tick_at: str | None
    team: Mapping[str, tuple[str, ...]]  # role -> people, sorted
    authority: Mapping[tuple[str, str], int]  # (role, person) -> the assign event that gave it
    tasks: Mapping[str, TaskDone]  # role -> its task done this round
    approvals: Mapping[str, Signature]  # role -> its approval this round
    # The current phase's deliverables that have a version: key -> the newest (read only where the
    # phase declares deliverables; empty otherwise).
    deliverables: Mapping[str, Current] = MappingProxyType({})
    # Who may sign for whom (workflow/domain/duties): the delegations that may be in force around
    # ``read_at`` (when the state was read), and the earlier signatures and tasks the current gate's
    # ``distinct_from`` names (read only where it names any).
    delegations: Iterable[Delegation] = ()  # the write path reads them on first use (storage/project_rows)
    earlier: tuple[Earlier, ...] = ()
    read_at: str | None = None

    @property
    def clock(self) -> Clock:
        return Clock(self.calendar, self.starts_on, self.due_on, self.gate_opened_at, self.planned_due,
                     self.next_tick_at)

    def holds(self, role: str, person: str) -> bool:
        return person in self.team.get(role, ())

    def is_member(self, person: str) -> bool:
        return any(person in people for people in self.team.values())

    def is_party(self, person: str, at: str) -> bool:
        """A member, or the delegate in force at ``at`` of a member (who may then read the project)."""
        return self.is_member(person) or any(
            d.to == person and self.is_member(d.person) and d.project in (None, self.code) and d.in_force(at)
            for d in self.delegations)

    def phase_of(self, definition: Definition) -> Phase:
        phase = definition.phase(self.phase)
        assert phase is not None, "a stored phase always exists in its pinned template version"
        return phase

    def evaluation(self, definition: Definition) -> PhaseEvaluation:
        """What still stands between the current round and the next phase."""
        return evaluate(
            definition,
            self.phase_of(definition),
            {r: t.person for r, t in self.tasks.items()},
            {r: a.person for r, a in self.approvals.items()},
            self.team,
            self.deliverables,
            self.duties(),
        )

    def duties(self, at: str | None = None) -> Duties:
        """Who may sign for whom at ``at`` (None: when the state was read)."""
        behalf = {r: a.on_behalf_of for r, a in self.approvals.items() if a.on_behalf_of is not None}
        return Duties(self.code, at or self.read_at or "", self.delegations, self.earlier, behalf)

    def entered(self, phase: str) -> tuple[int, str]:
        """The round a (re-)entered ``phase`` starts, and the rounds counter after entering it."""
        return entered(self.rounds, phase)


@lru_cache(maxsize=4096)
def entered(rounds: str, phase: str) -> tuple[int, str]:
    """:meth:`ProjectState.entered` on the stored counter. Remembered: the projects of one template
    share a few counters (they move through the same phases), and an advance then parses and
    encodes no JSON."""
    counts: dict[str, int] = json.loads(rounds)
    counts[phase] = counts.get(phase, 0) + 1
    return counts[phase], canonical_json(counts)
