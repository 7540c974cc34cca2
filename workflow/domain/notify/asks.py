"""Whom an event asks to act: the notifications it owes (written to the outbox with it).

An event asks somebody to act when a task becomes theirs (an assignment to a role with an
open task, a phase entered, a task reopened), when a gate waits for their signature (the
phase's last task done, or an assignment to an approver role once the tasks are done), when
the lead can advance (the last task or signature given), when a rejection sends the
project back to them, and when ``tick`` reminds, escalates or finds a due date passed. The
person who acted is not told about their own act. A gate waiting on someone away asks their
delegate too (the person away gets a copy: both are among those who can sign).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from workflow.domain.gates import NO_DUTIES, Duties, evaluate
from workflow.domain.templates.definition import Definition, Phase
from workflow.domain.vocabulary import ACTIVE

KINDS = ("task", "sign", "ready", "rejected", "remind", "escalate", "overdue", "changed")


class Ask(NamedTuple):
    kind: str  # one of KINDS
    people: tuple[str, ...]
    role: str | None = None


def asks_of(definition: Definition, phase: Phase, status: str, team: Mapping[str, Sequence[str]],
            tasks_done: Mapping[str, str], approvals: Mapping[str, str], action: str,
            data: Mapping[str, Any], moved: Mapping[str, Any], actor: str, duties: Duties = NO_DUTIES
            ) -> list[Ask]:
    """The asks of one project event, from the state before it (``moved``: what it changes)."""
    status = moved.get("status", status)
    if status != ACTIVE:
        return []
    found: list[Ask] = []
    role = data.get("role")
    if "phase" in moved and moved.get("round") is not None:  # a phase (re-)entered: a fresh round
        entered = definition.phase(moved["phase"])
        assert entered is not None
        found = _opening(definition, entered, team, "rejected" if action == "reject" else "task")
    elif action == "assign":
        found = _assigned(definition, phase, team, tasks_done, approvals, data["role"], data["person"],
                          duties)
    elif action == "task.done":
        done: dict[str, str] = {**tasks_done, str(role): actor}
        if all(r in done for r in phase.task_roles):
            found = (_gate_waits(definition, phase, team, done, approvals, duties=duties)
                     or _ready(definition, team))
    elif action == "deliverable.add":  # a new version voided what they signed: they look again
        for voided in data["voided"]["approvals"]:
            found.append(Ask("changed", (voided["person"],), voided["role"]))
    elif action == "task.reopen":
        for voided in data["voided"]["tasks"]:
            found.append(Ask("task", tuple(team.get(voided["role"], ())), voided["role"]))
    elif action == "approve" and role:
        signed = {**approvals, role: actor}
        behalf = {**duties.behalf, **({role: data["on_behalf_of"]} if data.get("on_behalf_of") else {})}
        # only whether the phase is ready counts here: who else could sign (delegations) is not asked
        after = evaluate(definition, phase, tasks_done, signed, team, None,
                         duties._replace(behalf=behalf, delegations=()))
        if after.ready:
            found = _ready(definition, team)
    return [a._replace(people=people) for a in found if (people := tuple(p for p in a.people if p != actor))]


def _opening(definition: Definition, phase: Phase, team: Mapping[str, Sequence[str]], kind: str
             ) -> list[Ask]:
    if phase.tasks:
        return [Ask(kind, tuple(team.get(role, ())), role) for role in phase.task_roles]
    return _gate_waits(definition, phase, team, {}, {}, kind="rejected" if kind == "rejected" else "sign")


def _gate_waits(definition: Definition, phase: Phase, team: Mapping[str, Sequence[str]],
                tasks_done: Mapping[str, str], approvals: Mapping[str, str], kind: str = "sign",
                duties: Duties = NO_DUTIES) -> list[Ask]:
    if phase.gate is None:
        return []
    evaluation = evaluate(definition, phase, tasks_done, approvals, team, None, duties)
    return [Ask(kind, people, role) for role, people in evaluation.can_sign.items()]


def _ready(definition: Definition, team: Mapping[str, Sequence[str]]) -> list[Ask]:
    return [Ask("ready", tuple(team.get(definition.lead, ())), definition.lead)]


def _assigned(definition: Definition, phase: Phase, team: Mapping[str, Sequence[str]],
              tasks_done: Mapping[str, str], approvals: Mapping[str, str], role: str, person: str,
              duties: Duties = NO_DUTIES) -> list[Ask]:
    if role in phase.task_roles and role not in tasks_done:
        return [Ask("task", (person,), role)]
    if all(r in tasks_done for r in phase.task_roles):
        joined = {**team, role: (*team.get(role, ()), person)}
        waits = _gate_waits(definition, phase, joined, tasks_done, approvals, duties=duties)
        return [a._replace(people=(person,)) for a in waits if a.role == role and person in a.people]
    return []


def tick_asks(kind: str, people: Sequence[str]) -> list[Ask]:
    """A reminder, escalation or overdue notice from ``tick``."""
    return [Ask(kind, tuple(people))]
