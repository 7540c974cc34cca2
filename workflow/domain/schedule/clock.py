"""A project's clock: how each event moves its schedule, and what ``tick`` owes it at a moment.

The schedule lives in the project row (``calendar``, ``starts_on``, ``due_on``,
``gate_opened_at``, ``planned_due``, ``next_tick_at``); :func:`moves` gives the columns an
event changes, :func:`due_now` what a tick must record now (overdue, remind, escalate; each
once per round and person, which the ``timers`` table's key enforces) and :func:`next_tick`
when a tick should next look. The arithmetic is :mod:`workflow.domain.schedule.workdays`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from workflow.domain.gates import evaluate
from workflow.domain.schedule import workdays
from workflow.domain.templates.definition import Definition, Phase
from workflow.domain.vocabulary import ACTIVE, CLOSED


def timed(definition: Definition) -> bool:
    """Whether the template gives any phase a duration or any gate a reminder or escalation."""
    return any(p.duration or (p.gate and (p.gate.remind_after or p.gate.escalate_after))
               for p in definition.phases)


class Clock(NamedTuple):
    """The schedule columns of a project row."""

    calendar: str | None
    starts_on: str | None
    due_on: str | None
    gate_opened_at: str | None
    planned_due: str | None  # JSON {phase: date} set ahead with ``project due``
    next_tick_at: str | None


def planned(clock: Clock) -> dict[str, str]:
    return json.loads(clock.planned_due) if clock.planned_due else {}


def entering(phase: Phase, round_no: int, clock: Clock, now: str) -> dict[str, Any]:
    """The columns of a round of ``phase`` that starts ``now``."""
    ahead = planned(clock)
    due = ahead.pop(phase.key, None) if round_no == 1 else None
    if due is None and phase.duration:
        due = workdays.due_on(workdays.round_starts(now, clock.starts_on), phase.duration, clock.calendar)
    return {"due_on": due, "gate_opened_at": None if phase.tasks else now,
            "planned_due": json.dumps(ahead, sort_keys=True) if ahead else None}


def moves(definition: Definition, phase: Phase, status: str, tasks_done: Iterable[str], clock: Clock,
          action: str, data: Mapping[str, Any], moved: Mapping[str, Any], now: str,
          held_at: str | None = None) -> dict[str, Any]:
    """The schedule columns an event changes, in a project in ``phase`` and ``status`` before it
    (``moved``: the state fields the event changes; ``held_at``: for a resume, when the hold began)."""
    out: dict[str, Any] = {}
    status = moved.get("status", status)
    if status in CLOSED:
        out = {"due_on": None, "gate_opened_at": None, "planned_due": None}
    elif "phase" in moved and moved.get("round") is not None:
        entered = definition.phase(moved["phase"])
        assert entered is not None
        out = entering(entered, moved["round"], clock, now)
    elif action == "task.done":
        done = {*tasks_done, data["role"]}
        if all(role in done for role in phase.task_roles):
            out = {"gate_opened_at": now}
    elif action == "task.reopen":  # a task open again: the gate waits for it first
        out = {"gate_opened_at": None}
    elif action == "due":
        if data["for_phase"] == phase.key:
            out = {"due_on": data["due_on"]}
        else:
            ahead = planned(clock) | {data["for_phase"]: data["due_on"]}
            out = {"planned_due": json.dumps(ahead, sort_keys=True)}
    elif action == "resume" and held_at is not None:
        due, opened = workdays.shift_for_hold(clock.due_on, clock.gate_opened_at, held_at, now,
                                              clock.calendar)
        out = {"due_on": due, "gate_opened_at": opened}
    now_in = definition.phase(moved.get("phase") or phase.key) or phase
    out["next_tick_at"] = next_tick(now_in, clock._replace(**out)) if status == ACTIVE else None
    return out


def moments(phase: Phase, clock: Clock) -> dict[str, str]:
    """When the current round is overdue, and when its signers are reminded and the gate escalated."""
    out = {}
    if clock.due_on is not None:
        out["overdue"] = workdays.end_of(clock.due_on)
    gate = phase.gate
    if gate is not None and clock.gate_opened_at is not None:
        if gate.remind_after:
            out["remind"] = workdays.after(clock.gate_opened_at, gate.remind_after, clock.calendar)
        if gate.escalate_after:
            out["escalate"] = workdays.after(clock.gate_opened_at, gate.escalate_after, clock.calendar)
    return out


def next_tick(phase: Phase, clock: Clock, after: str | None = None) -> str | None:
    """The earliest moment a tick has something to look at (after ``after``, when given)."""
    times = [t for t in moments(phase, clock).values() if after is None or t > after]
    return min(times) if times else None


class Due(NamedTuple):
    """What a tick records now: ``kind`` (overdue | remind | escalate) for ``people``."""

    kind: str
    people: tuple[str, ...]
    waiting_on: tuple[str, ...] = ()  # the signers an escalation is about


def due_now(definition: Definition, phase: Phase, clock: Clock, now: str,
            team: Mapping[str, Sequence[str]], tasks_done: Mapping[str, str], approvals: Mapping[str, str],
            admins: Sequence[str], given: set[tuple[str, str]]) -> list[Due]:
    """What is owed at ``now`` and not yet ``given`` ((kind, person) pairs of this round)."""
    out: list[Due] = []
    when = moments(phase, clock)
    lead = tuple(team.get(definition.lead, ()))

    def fresh(kind: str, people: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted({p for p in people if (kind, p) not in given}))

    if "overdue" in when and now >= when["overdue"] and (people := fresh("overdue", lead)):
        out.append(Due("overdue", people))
    gate = phase.gate
    if gate is None or not ("remind" in when or "escalate" in when):
        return out
    evaluation = evaluate(definition, phase, tasks_done, approvals, team)
    if evaluation.gate_satisfied:
        return out
    signers = tuple(sorted({p for people in evaluation.can_sign.values() for p in people}))
    if "remind" in when and now >= when["remind"] and (people := fresh("remind", signers)):
        out.append(Due("remind", people))
    if "escalate" in when and now >= when["escalate"]:
        target = gate.escalate_to or "lead"
        told = (lead if target == "lead" else tuple(admins) if target == "admin"
                else tuple(team.get(target, ())))
        if people := fresh("escalate", told):
            out.append(Due("escalate", people, signers))
    return out


def due_view(definition: Definition, clock: Clock, phase_key: str, status: str, now: str | None
             ) -> dict[str, Any]:
    """The schedule as ``project status`` shows it: the round's due date, whether it has passed,
    the working days left (negative: overdue by), and every phase's due date (done, current,
    or projected from the current one by the durations, a date set ahead winning)."""
    due = clock.due_on if status in (ACTIVE, "on_hold") else None
    overdue = due is not None and now is not None and now > workdays.end_of(due)
    left = None
    if due is not None and now is not None:
        left = workdays.days_left(due, workdays.parse_day(now), clock.calendar)
    here = definition.phase_position(phase_key)
    ahead = planned(clock)
    cursor = due
    rows = []
    for i, p in enumerate(definition.phases):
        if status == "completed" or i < here:
            rows.append({"phase": p.key, "title": p.title, "duration": p.duration, "due": None,
                         "state": "done"})
            continue
        if i == here:
            when, state = due, "current" if status in (ACTIVE, "on_hold") else status
        else:
            when = ahead.get(p.key)
            if when is None and cursor is not None and p.duration:
                when = workdays.due_on(workdays.end_of(cursor), p.duration, clock.calendar)
            state = "planned" if status in (ACTIVE, "on_hold") else status
        cursor = when or cursor
        rows.append({"phase": p.key, "title": p.title, "duration": p.duration, "due": when, "state": state})
    return {"due": due, "overdue": overdue, "due_in_days": left, "calendar": clock.calendar,
            "starts_on": clock.starts_on, "schedule": rows}
