"""What one event changes in the insights' summary rows, decided once.

The write path (``storage/insights/track.py``) turns each :class:`Change` into one SQL statement in
the event's transaction; the fold (:class:`Facts`, used by the migration's backfill and by
``audit verify``) applies the same changes to rows in memory, replaying a project's events. So the
rows the engine keeps and the rows the history gives are computed by one function.

Working days are differences of working-day ordinals (``workdays.ordinal``) on the project's
calendar: a round entered on day ``a`` and left on day ``b`` took ``ordinal(b) - ordinal(a)``
working days (the day it was entered counts, the day it was left does not: the schedule's
arithmetic), less the working days it was on hold (a hold from day ``h`` to a resume on day ``r``:
``ordinal(r) - ordinal(h)``, as the schedule moves a due date on resume).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from workflow.domain.audit.replay import Recorded
from workflow.domain.schedule.workdays import ordinal
from workflow.domain.state import ProjectState
from workflow.domain.templates.definition import Definition
from workflow.domain.vocabulary import COMPLETED

# The actions whose ``voided`` approvals stop standing (a rejection's do not: they were given).
VOIDING = frozenset({"withdraw", "unassign", "task.reopen", "deliverable.add"})


class Change(NamedTuple):
    """One summary row's change: ``kind`` names the statement, ``values`` its parameters."""

    kind: str  # new_project | open_visit | close_visit | close_project | hold | resume | sign | unsign
    values: dict[str, Any]


def created(
    project_id: int | None, template_id: int, client: str | None, calendar: str | None, phase: str, at: str
) -> list[Change]:
    """A new project: its row, and its first phase's round 1 entered."""
    day = ordinal(at, calendar)
    common = {"project_id": project_id, "template_id": template_id, "client": client, "calendar": calendar}
    return [
        Change("new_project", {**common, "at": at, "ord": day}),
        Change("open_visit", {**common, "phase": phase, "round": 1, "at": at, "ord": day}),
    ]


def gate_opened(state: ProjectState, definition: Definition) -> str | None:
    """When the current round's gate opened: the schedule's record of it (moved later by holds), else
    its last task's time; None: at the round's entry (a phase without tasks)."""
    if isinstance(state.gate_opened_at, str):
        return state.gate_opened_at
    phase = definition.phase(state.phase)
    roles = phase.task_roles if phase is not None else ()
    done = [state.tasks[r].at for r in roles if r in state.tasks]
    if roles and len(done) == len(roles):
        return max(done)
    return "" if roles else None  # "": not open yet


def _opened_ord(opened: str | None, calendar: str | None, signed_ord: int) -> int | None:
    """The gate's opening as an ordinal; None: the round's entry (the row's ``entered_ord``); a gate
    not open yet when signed counts 0 days."""
    if opened is None:
        return None
    return ordinal(opened, calendar) if opened else signed_ord


def late(left_at: str, due_on: str | None) -> bool | None:
    """Whether a round that ended at ``left_at`` ended after its due date (None: it had none)."""
    if not due_on:
        return None
    return left_at[:10] > due_on


def changes(
    state: ProjectState, definition: Definition, event: Recorded, moved: Mapping[str, Any]
) -> list[Change]:
    """The summary rows' changes of ``event`` on the project as it stood before it (``moved``: the
    state fields it moved)."""
    action, at, actor, data = event.action, event.at, event.actor, event.data
    cal = state.calendar
    key = {"project_id": state.id, "phase": state.phase, "round": state.round}
    day = ordinal(at, cal)
    out: list[Change] = []
    if action in ("advance", "reject", "cancel"):
        outcome = {"advance": "passed", "reject": "rejected", "cancel": "cancelled"}[action]
        due = state.due_on if isinstance(state.due_on, str) else None
        last_ord = opened_ord = None
        signed = [s.at for s in state.approvals.values()]
        if action == "advance" and signed:  # the gate's time: from its opening to its last signature
            last_ord = ordinal(max(signed), cal)
            opened_ord = _opened_ord(gate_opened(state, definition), cal, last_ord)
        out.append(
            Change(
                "close_visit",
                {
                    **key,
                    "at": at,
                    "ord": day,
                    "outcome": outcome,
                    "due_on": due,
                    "late": late(at, due),
                    "opened_ord": opened_ord,
                    "last_ord": last_ord,
                    "reason": data.get("reason") if action == "reject" else None,
                },
            )
        )
        status = moved.get("status")
        if action == "cancel" or status == COMPLETED:
            out.append(
                Change(
                    "close_project",
                    {
                        "project_id": state.id,
                        "at": at,
                        "ord": day,
                        "status": "cancelled" if action == "cancel" else "completed",
                    },
                )
            )
        elif moved.get("phase") is not None and moved.get("round") is not None:
            out.append(
                Change(
                    "open_visit",
                    {
                        "project_id": state.id,
                        "template_id": state.template_id,
                        "client": state.client,
                        "calendar": cal,
                        "phase": moved["phase"],
                        "round": moved["round"],
                        "at": at,
                        "ord": day,
                    },
                )
            )
    elif action == "hold":
        out.append(Change("hold", {**key, "ord": day}))
    elif action == "resume":
        out.append(Change("resume", {**key, "ord": day}))
    elif action == "approve":
        opened = gate_opened(state, definition)
        out.append(
            Change(
                "sign",
                {
                    **key,
                    "role": data.get("role"),
                    "person": actor,
                    "template_id": state.template_id,
                    "client": state.client,
                    "at": at,
                    "ord": day,
                    "opened_ord": _opened_ord(opened, cal, day),
                },
            )
        )
    if action in VOIDING:
        voided = (data.get("voided") or {}).get("approvals") or ()
        for role in sorted({v["role"] for v in voided}):
            out.append(Change("unsign", {**key, "role": role}))
    return out


# -- the same changes on rows in memory ------------------------------------------------------------


class Facts:
    """A project's summary rows rebuilt in memory: ``project``, ``visits`` by (phase, round),
    ``signatures`` by (phase, round, role); each row a dict of its table's columns."""

    def __init__(self) -> None:
        self.project: dict[str, Any] | None = None
        self.visits: dict[tuple[str, int], dict[str, Any]] = {}
        self.signatures: dict[tuple[str, int, str], dict[str, Any]] = {}

    def apply_all(self, found: Iterable[Change]) -> None:
        for change in found:
            self.apply(change)

    def apply(self, change: Change) -> None:
        v = change.values
        kind = change.kind
        if kind == "new_project":
            self.project = {
                "project_id": v["project_id"],
                "template_id": v["template_id"],
                "client": v["client"],
                "calendar": v["calendar"],
                "created_at": v["at"],
                "created_ord": v["ord"],
                "status": "running",
                "ended_at": None,
                "held_days": 0,
                "held_since_ord": None,
                "days": None,
            }
        elif kind == "open_visit":
            self.visits[(v["phase"], v["round"])] = {
                "project_id": v["project_id"],
                "phase": v["phase"],
                "round": v["round"],
                "template_id": v["template_id"],
                "client": v["client"],
                "calendar": v["calendar"],
                "entered_at": v["at"],
                "entered_ord": v["ord"],
                "left_at": None,
                "outcome": "running",
                "held_days": 0,
                "held_since_ord": None,
                "days": None,
                "due_on": None,
                "late": None,
                "gate_days": None,
                "reason": None,
            }
        elif kind == "close_visit":
            row = self.visits.get((v["phase"], v["round"]))
            if row is not None:
                gate = None
                if v["last_ord"] is not None:
                    gate = v["last_ord"] - (
                        v["opened_ord"] if v["opened_ord"] is not None else row["entered_ord"]
                    )
                row.update(
                    _ended(row, v["ord"], "entered_ord"),
                    left_at=v["at"],
                    outcome=v["outcome"],
                    due_on=v["due_on"],
                    late=v["late"],
                    gate_days=gate,
                    reason=v["reason"],
                )
        elif kind == "close_project" and self.project is not None:
            row = self.project
            row.update(_ended(row, v["ord"], "created_ord"), status=v["status"], ended_at=v["at"])
        elif kind in ("hold", "resume"):
            for row in (self.visits.get((v["phase"], v["round"])), self.project):
                if row is None:
                    continue
                if kind == "hold":
                    row["held_since_ord"] = v["ord"]
                elif row["held_since_ord"] is not None:
                    row.update(held_days=_settled(row, v["ord"]), held_since_ord=None)
        elif kind == "sign":
            visit = self.visits.get((v["phase"], v["round"]))
            if visit is not None:
                opened = v["opened_ord"] if v["opened_ord"] is not None else visit["entered_ord"]
                self.signatures[(v["phase"], v["round"], v["role"])] = {
                    "project_id": v["project_id"],
                    "phase": v["phase"],
                    "round": v["round"],
                    "role": v["role"],
                    "person": v["person"],
                    "template_id": v["template_id"],
                    "client": v["client"],
                    "signed_at": v["at"],
                    "days": v["ord"] - opened,
                }
        elif kind == "unsign":
            self.signatures.pop((v["phase"], v["round"], v["role"]), None)


def _ended(row: Mapping[str, Any], day: int, began: str) -> dict[str, Any]:
    """What ending a visit or a project at ``day`` settles: its days held, and its days less them
    (from its ``began`` ordinal)."""
    held = _settled(row, day)
    return {"held_days": held, "held_since_ord": None, "days": day - row[began] - held}


def _settled(row: Mapping[str, Any], day: int) -> int:
    """The row's working days held, counting a hold still running up to ``day``."""
    since = row["held_since_ord"]
    return int(row["held_days"]) + (0 if since is None else day - since)
