"""What a project page shows a person: the moves the rules let them make now, the phases as steps,
a board row's "waiting on", a phase strip.

The buttons are the moves :func:`workflow.domain.commands.allowed_moves` gives: each command's own
rule (``workflow/domain/rules.py``), the one the engine asks again under its lock, so a button is
never offered that the engine would refuse for who the person is and what the project is now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from workflow.domain.commands import COMMANDS, Command, Move
from workflow.domain.results import ProjectStatus
from workflow.domain.vocabulary import ACTIVE, READ_EVERYTHING

# The navigation's pages that only some people can use, and the grants that let them: the audit pages
# (verify, checkpoint, export, search) are an admin's or an auditor's, the accounts and grants an
# admin's. Templates is everyone's: reading a template (its phases, who signs each gate, where a
# rejection goes back to) helps anyone on a project; only its Publish form is an admin's.
NAV_NEEDS: dict[str, frozenset[str]] = {"/audit": READ_EVERYTHING, "/people": frozenset({"admin"})}


def nav_hidden(privileges: frozenset[str]) -> frozenset[str]:
    """The navigation's addresses a person holding ``privileges`` has no use for."""
    return frozenset(href for href, needs in NAV_NEEDS.items() if needs.isdisjoint(privileges))


@dataclass(frozen=True)
class Offer:
    """The moves one person may make on one project page (none on a page of the past)."""

    moves: frozenset[Move] = frozenset()
    # approver role this person holds but may not sign (four eyes) -> the role they signed as: a hint
    four_eyes: dict[str, str] = field(default_factory=dict)

    def can(self, command: str, role: str | None = None, person: str | None = None) -> bool:
        return Move(command, role, person) in self.moves

    def any(self, command: str) -> bool:
        return any(m.command == command for m in self.moves)

    def at(self, place: str) -> list[Command]:
        """The commands the page draws at ``place`` (domain/commands.py's PLACES), in the table's order
        (whether this person gets one is :meth:`can`)."""
        return [cmd for cmd in COMMANDS.values() if cmd.web is not None and cmd.web.place == place]

    def moves_at(self, place: str) -> list[Command]:
        """The moves on the project itself drawn at ``place`` that this person may make."""
        return [cmd for cmd in self.at(place) if Move(cmd.name) in self.moves]

    @property
    def anything(self) -> bool:
        return bool(self.moves)


def offer(status: ProjectStatus, person: str, moves: frozenset[Move]) -> Offer:
    """``moves`` (the rules' answer), with the four-eyes hint for a gate this person already signed."""
    if status.as_of is not None:  # a page of the past: nothing to press
        return Offer()
    gate, four_eyes = status.gate, {}
    if gate is not None and gate.distinct_people and status.status == ACTIVE:
        mine = [a.role for a in gate.approvals if a.person == person]
        signed = {a.role for a in gate.approvals}
        held = {role for role, people in status.team.items() if person in people}
        four_eyes = {r: mine[0] for r in gate.approvers
                     if mine and r in held and r not in signed and Move("approve", r) not in moves}
    return Offer(moves, four_eyes)


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


KIND_WORDS = {"task": "task", "approval": "sign-off", "resume": "to resume (on hold)"}


def waiting_on(waiting: list[dict[str, Any]]) -> list[str]:
    """A board row's "waiting on": one line per person (or unfilled role), what they owe and as what.

    The status lists each open task and missing sign-off with its people; a row reads better
    (and renders in a fraction of the markup) as who holds it up: "ben: Head of Technology task
    and sign-off"."""
    owed: dict[str, dict[str, list[str]]] = {}  # person -> role title -> kinds
    for w in waiting:
        kind = KIND_WORDS.get(w["kind"], "sign-off")
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
