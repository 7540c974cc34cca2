"""What a project page offers a person: exactly the buttons the rules let them use now.

The engine decides every command again under its lock; these mirror its rules
(``workflow/domain/rules.py``) only to draw the page, from the status the page shows,
so a button is never offered that the engine would refuse for who the person is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from workflow.domain.results import ProjectStatus

CLOSED = ("completed", "cancelled")


@dataclass(frozen=True)
class Offer:
    """The controls one person gets on one project page."""

    mark_done: frozenset[str] = frozenset()  # task roles
    reopen: frozenset[str] = frozenset()
    approve: frozenset[str] = frozenset()  # approver roles
    withdraw: frozenset[str] = frozenset()
    reject: tuple[str, ...] = ()
    advance: bool = False
    hold: bool = False
    resume: bool = False
    cancel: bool = False
    staff: bool = False
    roles: dict[str, str] = field(default_factory=dict)  # role -> title, for the forms
    # approver role this person holds but may not sign (four eyes) -> the role they signed as
    four_eyes: dict[str, str] = field(default_factory=dict)

    @property
    def anything(self) -> bool:
        return bool(self.mark_done or self.reopen or self.approve or self.withdraw or self.reject
                    or self.advance or self.hold or self.resume or self.cancel or self.staff)


def offer(status: ProjectStatus, person: str, grants: frozenset[str], titles: dict[str, str]) -> Offer:
    if status.as_of is not None:  # a page of the past: nothing to press
        return Offer(roles=titles)
    holds = {role for role, people in status.team.items() if person in people}
    active, lead = status.status == "active", status.lead in holds
    waiting = {(w["kind"], w["role"]): w["people"] for w in status.waiting}
    gate = status.gate
    signed = {a.role: a.person for a in gate.approvals} if gate is not None else {}
    mine = [r for r, p in signed.items() if p == person]
    four_eyes = {}
    if gate is not None and gate.distinct_people and mine and active:
        four_eyes = {r: mine[0] for r in gate.approvers if r in holds and r not in signed}
    return Offer(
        mark_done=frozenset(t.role for t in status.tasks if person in waiting.get(("task", t.role), ())),
        reopen=frozenset(t.role for t in status.tasks if active and t.done and (t.role in holds or lead)),
        approve=frozenset(r for r in (gate.approvers if gate else [])
                          if person in waiting.get(("approval", r), ())),
        withdraw=frozenset(r for r, p in signed.items() if active and p == person),
        reject=tuple(r for r in (gate.approvers if gate else []) if active and r in holds),
        advance=lead and status.can_advance,
        hold=lead and active,
        resume=lead and status.status == "on_hold",
        cancel=lead and status.status not in CLOSED,
        staff=("admin" in grants or lead) and status.status not in CLOSED,
        roles=titles,
        four_eyes=four_eyes,
    )


def steps(status: ProjectStatus, phases: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The phases as steps: done, current or to come, with the rounds each was entered."""
    position = next((i for i, (key, _t) in enumerate(phases) if key == status.phase), 0)
    finished = status.status == "completed"
    due = {row["phase"]: row["due"] for row in status.schedule}
    out = []
    for i, (key, title) in enumerate(phases):
        state = "done" if finished or i < position else "current" if i == position else "todo"
        out.append({"key": key, "title": title, "state": state, "rounds": status.rounds.get(key, 0),
                    "due": due.get(key)})
    return out


def waiting_on(waiting: list[dict[str, Any]]) -> list[str]:
    """A board row's "waiting on": one line per person (or unfilled role), what they owe and as what.

    The status lists each open task and missing sign-off with its people; a row reads better
    (and renders in a fraction of the markup) as who holds it up: "ben: Head of Technology task
    and sign-off"."""
    owed: dict[str, dict[str, list[str]]] = {}  # person -> role title -> kinds
    for w in waiting:
        kind = "task" if w["kind"] == "task" else "sign-off"
        for person in w["people"] or [f"nobody ({w['role_title']} unassigned)"]:
            owed.setdefault(person, {}).setdefault(w["role_title"], []).append(kind)
    return [person + ": " + "; ".join(f"{title} {' and '.join(kinds)}" for title, kinds in roles.items())
            for person, roles in owed.items()]


def strip(number: int, count: int, label: str) -> Markup:
    """A project's phase progress at a glance: one small bar per phase (done, now, to come).

    Built here rather than as a template macro: the board draws one per row, and a macro's
    per-call and per-escape cost was a third of the board's rendering."""
    bars = "".join('<span class="done"></span>' if i < number else '<span class="now"></span>' if i == number
                   else '<span class="todo"></span>' for i in range(1, count + 1))
    return Markup(f'<span class="strip" role="img" aria-label="{escape(label)}: phase {int(number)} of '
                  f'{int(count)}">{bars}</span>')
