"""Loading a project's :class:`~workflow.domain.state.ProjectState` from its rows.

One query reads the team, the reader's grants and the current round's tasks and
approvals (``statements.ROUND``); on the write path the project's row is locked
first (``Dialect.locked_project``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from workflow.domain.audit.events import Event
from workflow.domain.state import ProjectState, Signature, TaskDone
from workflow.domain.vocabulary import ASSERTED, ON_HOLD
from workflow.storage import statements as sql
from workflow.storage.files.versions import with_deliverables
from workflow.storage.outbox import Recipients
from workflow.storage.statements import ProjectRow

NONE: Mapping[str, Any] = MappingProxyType({})  # the deliverables, read apart (storage/files/versions.py)

if TYPE_CHECKING:
    from workflow.storage.transaction import ReadTx, WriteTx


def locked_project(tx: WriteTx, code: str, actor: str) -> tuple[ProjectState, frozenset[str]] | None:
    """The project (its row locked until the transaction ends) and ``actor``'s grants; None if none."""
    row, round_rows = tx.dialect.locked_project(tx, code, actor)
    if row is None:
        return None
    state, privileges, tx.recipients = _loaded(row, round_rows)
    return with_deliverables(tx, state, tx.template(state.template_id).definition), privileges


def read_project(tx: ReadTx, code: str, reader: str) -> tuple[ProjectState, frozenset[str]] | None:
    """The project as it stands (no lock) and ``reader``'s grants; None if there is no such project."""
    found = tx.execute(sql.PROJECT, code=code).fetchone()
    if found is None:
        return None
    row = ProjectRow._make(found)
    round_rows = tx.execute(sql.ROUND, project_id=row.id, actor=reader, phase=row.phase, round=row.round)
    state, privileges = state_of(row, round_rows.fetchall())
    return with_deliverables(tx, state, tx.template(state.template_id).definition), privileges


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
        (*row, {role: tuple(people) for role, people in team.items()}, authority, tasks, approvals, NONE)
    )
    return state, frozenset(privileges), Recipients(frozenset(members), emails, tuple(hooks))


assert ProjectState._fields[: len(ProjectRow._fields)] == ProjectRow._fields
