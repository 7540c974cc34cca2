"""Whether a phase may be left: its tasks, its gate, and the sentences that say who can clear them.

Pure functions over plain mappings; the engine feeds them the state read under the
project's lock, ``project status`` and the board feed them the state read for display,
so the rule and its explanation cannot drift apart.

A blocker names only people who can clear it *now*: a task's holders; for a gate, the
holders of a missing approver role who have not already signed for another role of
the same gate when the four-eyes rule (``distinct_people``) applies. Where nobody can,
the sentence says so and says what would unblock it (assign someone, or a signer
withdraws their other approval).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from workflow.domain import deliverables
from workflow.domain.deliverables import Current
from workflow.domain.duties import signing
from workflow.domain.duties.delegations import Delegation, away
from workflow.domain.duties.signing import Acting, Earlier
from workflow.domain.templates.definition import Definition, Gate, Phase, possessive


class Duties(NamedTuple):
    """Who may sign for whom (workflow/domain/duties), for a phase's evaluation: the project, the time
    the delegations are in force at, the delegations, the earlier work ``distinct_from`` may name, and
    whom each approval of the round was given for (approver role -> the person a delegate signed for)."""

    code: str = ""
    at: str = ""
    delegations: Iterable[Delegation] = ()
    earlier: tuple[Earlier, ...] = ()
    behalf: Mapping[str, str] = MappingProxyType({})

    def signed(self, approvals: Mapping[str, str]) -> dict[str, frozenset[str]]:
        """Approver role -> the people its signature stands for (its signer, and whom they signed for)."""
        return {r: frozenset((p, self.behalf[r])) if r in self.behalf else frozenset((p,))
                for r, p in approvals.items()}


NO_DUTIES = Duties()


@dataclass(frozen=True)
class PhaseEvaluation:
    tasks_open: tuple[str, ...]  # roles whose task is not done
    gate_satisfied: bool  # True when the phase has no gate
    gate_missing: tuple[str, ...]  # approver roles that could still sign (empty once satisfied)
    blockers: tuple[str, ...]  # sentences, each naming who can clear it now
    can_do: Mapping[str, tuple[str, ...]]  # open task role -> people who can mark it done
    can_sign: Mapping[str, tuple[str, ...]]  # missing approver role -> people who can approve it now
    deliverables_missing: tuple[str, ...] = ()  # required deliverables without a version yet

    @property
    def ready(self) -> bool:
        return not self.tasks_open and self.gate_satisfied and not self.deliverables_missing


def approvals_counted(gate: Gate, approvals: Mapping[str, str], duties: Duties = NO_DUTIES) -> int:
    """How many approvals count toward ``gate.needed`` (``approvals``: approver role -> signer).

    Four eyes: with ``distinct_people``, one person's approvals count once however many roles
    they signed for, and a delegate's signature for someone counts as theirs too
    (:func:`workflow.domain.duties.signing.counted`); without it, each approver role signed counts.
    """
    return signing.counted(gate, duties.signed(approvals))


def gate_open(gate: Gate, approvals: Mapping[str, str], duties: Duties = NO_DUTIES
              ) -> tuple[bool, tuple[str, ...]]:
    """(satisfied, missing roles). ``approvals`` maps an approver role to the person who signed."""
    missing = tuple(r for r in gate.approvers if r not in approvals)
    return approvals_counted(gate, approvals, duties) >= gate.needed, missing


def may_sign(gate: Gate, person: str, approvals: Mapping[str, str], duties: Duties = NO_DUTIES,
             definition: Definition | None = None, role: str = "", on_behalf_of: str | None = None) -> bool:
    """Whether ``person`` (holding a missing approver role, or acting for someone who does) may approve
    now: four-eyes across delegations, and (given the definition) the separation of duties."""
    acting = Acting(person, on_behalf_of)
    signed = duties.signed(approvals)
    if signing.four_eyes_clash(gate, role, acting.people, signed) is not None:
        return False
    if on_behalf_of is not None and not gate.delegable:
        return False
    return definition is None or signing.separation_clash(gate, acting.people, duties.earlier) is None


def evaluate(
    definition: Definition,
    phase: Phase,
    tasks_done: Mapping[str, str],
    approvals: Mapping[str, str],
    team: Mapping[str, Sequence[str]],
    present: Mapping[str, Current] | None = None,
    duties: Duties = NO_DUTIES,
) -> PhaseEvaluation:
    """What still stands between ``phase`` (in its current round) and the next phase.

    ``present``: the phase's deliverables that have a version (None: not asked, as the
    notifications and the schedule do); a required one missing is a blocker."""
    tasks_open = tuple(role for role in phase.task_roles if role not in tasks_done)
    can_do = {role: tuple(team.get(role) or ()) for role in tasks_open}
    blockers = [
        f"waiting for the {possessive(definition.role_title(role))} task '{phase.task_of(role)}': "
        + (", ".join(can_do[role]) or "nobody holds the role yet; assign someone to it")
        for role in tasks_open
    ]
    waiting: tuple[str, ...] = ()
    if present is not None and phase.deliverables:
        waiting = tuple(d.key for d in phase.deliverables if d.required and d.key not in present)
        blockers += deliverables.missing(definition, phase, present, team)
    gate = phase.gate
    if gate is None:
        return PhaseEvaluation(tasks_open, True, (), tuple(blockers), can_do, {}, waiting)
    satisfied, missing = gate_open(gate, approvals, duties)
    if satisfied:
        return PhaseEvaluation(tasks_open, True, (), tuple(blockers), can_do, {}, waiting)
    can_sign = {r: _signers(definition, gate, r, team, approvals, duties) for r in missing}
    who = {r: _who_can_sign(definition, r, can_sign[r], team, approvals, duties) for r in missing}
    if gate.required == "all":
        blockers += [
            f"waiting for the {possessive(definition.role_title(r))} approval: {who[r]}" for r in missing
        ]
    else:
        more = gate.needed - approvals_counted(gate, approvals, duties)
        listed = "; ".join(f"{definition.role_title(r)} ({who[r]})" for r in missing)
        blockers.append(
            f"waiting for {more} more approval{'s' if more != 1 else ''} of '{gate.title}' from: {listed}"
        )
    return PhaseEvaluation(tasks_open, False, missing, tuple(blockers), can_do, can_sign, waiting)


def _signers(definition: Definition, gate: Gate, role: str, team: Mapping[str, Sequence[str]],
             approvals: Mapping[str, str], duties: Duties) -> tuple[str, ...]:
    """Who can approve ``role`` now: its holders who may, and the delegates of those away who may."""
    out: list[str] = []
    for holder in team.get(role) or ():
        if may_sign(gate, holder, approvals, duties, definition, role):
            out.append(holder)
        gone = away(duties.delegations, holder, duties.code, role, duties.at) if duties.at else None
        if gone is not None and gone.to not in out and may_sign(gate, gone.to, approvals, duties, definition,
                                                                 role, holder):
            out.append(gone.to)
    return tuple(out)


def _named(holder: str, role: str, duties: Duties) -> str:
    """A holder as a blocker names them: "ben (away; delegated to dee until 2026-12-21)"."""
    gone = away(duties.delegations, holder, duties.code, role, duties.at) if duties.at else None
    return holder if gone is None else f"{holder} (away; delegated to {gone.to} until {gone.last_day()})"


def _who_can_sign(
    definition: Definition,
    role: str,
    eligible: Sequence[str],
    team: Mapping[str, Sequence[str]],
    approvals: Mapping[str, str],
    duties: Duties = NO_DUTIES,
) -> str:
    """The people who can approve ``role`` now, or why nobody can and what would change that."""
    if eligible:
        # each holder who can sign, or whose delegate can: "ben (away; delegated to dee until ...)"
        return ", ".join(_named(h, role, duties) for h in team.get(role) or ()
                         if h in eligible or _delegate_of(h, role, duties) in eligible)
    holders = team.get(role) or ()
    if not holders:
        return "nobody holds the role yet; assign someone to it"
    signed = {person: other for other, person in approvals.items()}
    if any(p not in signed for p in holders):  # separation of duties, or a delegate's signature
        return (f"nobody can give it now: {', '.join(holders)} may not sign it (separation of duties or "
                f"four-eyes); assign another {definition.role_title(role)}")
    already = ", ".join(f"{p} already signed as {definition.role_title(signed[p])}" for p in holders)
    undo = (
        f"{holders[0]} withdraws the {definition.role_title(signed[holders[0]])} approval"
        if len(holders) == 1
        else "one of them withdraws their other approval"
    )
    return f"nobody can give it now: {already}; assign another {definition.role_title(role)}, or {undo}"


def _delegate_of(holder: str, role: str, duties: Duties) -> str | None:
    gone = away(duties.delegations, holder, duties.code, role, duties.at) if duties.at else None
    return None if gone is None else gone.to
