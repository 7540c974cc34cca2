"""Loading a project's :class:`~workflow.domain.state.ProjectState` from its rows.

One query reads the team, the reader's grants and the current round's tasks and
approvals (``statements.ROUND``); on the write path the project's row is locked
first (``Dialect.locked_project``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow.domain.audit.events import Event
from workflow.domain.duties.delegations import Delegation
from workflow.domain.duties.signing import Earlier
from workflow.domain.state import ProjectState, Signature, TaskDone
from workflow.domain.vocabulary import ASSERTED, ON_HOLD
from workflow.storage import statements as sql
from workflow.storage.database import utcnow
from workflow.storage.files.versions import with_deliverables
from workflow.storage.grants import delegations
from workflow.storage.outbox import Recipients
from workflow.storage.statements import ProjectRow
from workflow.storage.tables import approvals as t_approvals
from workflow.storage.tables import tasks as t_tasks

NONE: Mapping[str, Any] = MappingProxyType({})  # the deliverables, read apart (storage/files/versions.py)

if TYPE_CHECKING:
    from workflow.storage.transaction import ReadTx, WriteTx


def locked_project(tx: WriteTx, code: str, actor: str) -> tuple[ProjectState, frozenset[str]] | None:
    """The project (its row locked until the transaction ends) and ``actor``'s grants; None if none."""
    row, round_rows = tx.dialect.locked_project(tx, code, actor)
    if row is None:
        return None
    state, privileges, tx.recipients = _loaded(row, round_rows)
    return _read_more(tx, state, lazy=True), privileges


def read_project(tx: ReadTx, code: str, reader: str) -> tuple[ProjectState, frozenset[str]] | None:
    """The project as it stands (no lock) and ``reader``'s grants; None if there is no such project."""
    found = tx.execute(sql.PROJECT, code=code).fetchone()
    if found is None:
        return None
    row = ProjectRow._make(found)
    round_rows = tx.execute(sql.ROUND, project_id=row.id, actor=reader, phase=row.phase, round=row.round)
    state, privileges = state_of(row, round_rows.fetchall())
    return _read_more(tx, state), privileges


def _read_more(tx: ReadTx, state: ProjectState, lazy: bool = False) -> ProjectState:
    """What the round query does not read: the phase's deliverables, the delegations, earlier work."""
    return with_duties(tx, with_deliverables(tx, state, tx.template(state.template_id).definition), lazy)


class Around:
    """The delegations that may be in force around ``day`` on project ``code``, read on first use: a
    command by someone who holds the role, on a gate no one waits on, never needs them (no query)."""

    def __init__(self, tx: ReadTx, code: str, day: str) -> None:
        self.tx, self.code, self.day = tx, code, day
        self.found: list[Delegation] | None = None

    def __iter__(self) -> Iterator[Delegation]:
        if self.found is None:
            near = delegations(self.tx, from_day=_day(self.day, -1), to_day=_day(self.day, 1))
            self.found = [d for d in near if d.project in (None, self.code)]
        return iter(self.found)


def with_duties(tx: ReadTx, state: ProjectState, lazy: bool = False) -> ProjectState:
    """``state`` with the delegations that may be in force now (for this project or every project;
    ``lazy``: read when first asked, within the transaction), and the earlier work its current gate's
    ``distinct_from`` names (workflow/domain/duties)."""
    now = utcnow()
    around: Iterable[Delegation] = Around(tx, state.code, now[:10])
    if not lazy:
        around = tuple(around)
    gate = tx.template(state.template_id).definition.phase(state.phase)
    named = () if gate is None or gate.gate is None else gate.gate.distinct_from
    earlier = _earlier(tx, state, named) if named and state.id is not None else ()
    return state._replace(delegations=around, earlier=earlier, read_at=now)


def _day(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _earlier(tx: ReadTx, state: ProjectState, named: tuple[str, ...]) -> tuple[Earlier, ...]:
    """The signatures of the gates and the tasks ``named`` ("PHASE.gate", "PHASE.task.ROLE") in every
    round so far (a withdrawn signature is gone; one voided by a rejection or a new version stays)."""
    gates = [n.split(".")[0] for n in named if n.endswith(".gate")]
    tasks = [tuple(n.split(".")[::2]) for n in named if ".task." in n]
    g, t = t_approvals.c, t_tasks.c
    found: list[Earlier] = []
    if gates:
        rows = tx.core(select(g.phase, g.person, g.on_behalf_of, g.seq)
                       .where(g.project_id == state.id, g.phase.in_(gates)))
        found += [Earlier(f"{r.phase}.gate", r.person, r.on_behalf_of, r.seq) for r in rows]
    if tasks:
        rows = tx.core(select(t.phase, t.role, t.person, t.on_behalf_of, t.seq)
                       .where(t.project_id == state.id, t.phase.in_(sorted({p for p, _ in tasks}))))
        found += [Earlier(f"{r.phase}.task.{r.role}", r.person, r.on_behalf_of, r.seq) for r in rows
                  if (r.phase, r.role) in tasks]
    return tuple(sorted(found, key=lambda e: e.seq))


def recent_events(tx: ReadTx, state: ProjectState) -> dict[str, Event]:
    """The project's latest rejection and, while it is on hold, the hold (the events its row points at)."""
    wanted = {"reject": state.rejection_seq, "hold": state.hold_seq if state.status == ON_HOLD else None}
    out = {}
    for action, seq in wanted.items():
        if seq is not None:
            row = tx.execute(sql.EVENT, chain=state.code, seq=seq).fetchone()
            if row is not None:
                out[action] = Event(*row)
    return out


def state_of(row: ProjectRow, round_rows: Iterable[Any]) -> tuple[ProjectState, frozenset[str]]:
    """The state of a project row with its round rows, and the grants those rows name."""
    state, privileges, _recipients = _loaded(row, round_rows)
    return state, privileges


def _loaded(row: ProjectRow, round_rows: Iterable[Any]) -> tuple[ProjectState, frozenset[str], Recipients]:
    """:func:`state_of`, and the outbox's recipients among the write path's round rows ('e' and
    'w'), in one pass over the rows."""
    team: dict[str, list[str]] = {}
    authority: dict[tuple[str, str], int] = {}
    tasks: dict[str, TaskDone] = {}
    approvals: dict[str, Signature] = {}
    privileges: set[str] = set()
    members: set[str] = set()
    emails: dict[str, tuple[str, str | None]] = {}
    hooks: list[tuple[str, str]] = []
    for kind, role, person, at, seq, text, auth, behalf in round_rows:
        if kind == "a":
            team.setdefault(role, []).append(person)
            authority[(role, person)] = seq
            members.add(person)
        elif kind == "t":
            tasks[role] = TaskDone(person, text, at, seq, auth or ASSERTED, behalf)
        elif kind == "g":
            approvals[role] = Signature(person, text, at, seq, auth or ASSERTED, behalf)
        elif kind == "p":
            privileges.add(role)
        elif kind == "e":
            emails[person] = (text, auth)
        elif kind == "w":
            hooks.append((role, text))
    for people in team.values():
        people.sort()
    # The row's fields are the state's first ones (checked below): built from the row as it is.
    state = ProjectState._make(
        (*row, {role: tuple(people) for role, people in team.items()}, authority, tasks, approvals, NONE,
         (), (), None)
    )
    return state, frozenset(privileges), Recipients(frozenset(members), emails, tuple(hooks))


assert ProjectState._fields[: len(ProjectRow._fields)] == ProjectRow._fields
