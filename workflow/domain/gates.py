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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workflow.domain import deliverables
from workflow.domain.deliverables import Current
from workflow.domain.templates.definition import Definition, Gate, Phase, possessive


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


def approvals_counted(gate: Gate, approvals: Mapping[str, str]) -> int:
    """How many approvals count toward ``gate.needed`` (``approvals``: approver role -> signer).

    Four eyes: with ``distinct_people``, one person's approvals count once however many roles
    they signed for; without it, each approver role signed counts.
    """
    approved = [approvals[r] for r in gate.approvers if r in approvals]
    return len(set(approved)) if gate.distinct_people else len(approved)


def gate_open(gate: Gate, approvals: Mapping[str, str]) -> tuple[bool, tuple[str, ...]]:
    """(satisfied, missing roles). ``approvals`` maps an approver role to the person who signed."""
    missing = tuple(r for r in gate.approvers if r not in approvals)
    return approvals_counted(gate, approvals) >= gate.needed, missing


def may_sign(gate: Gate, person: str, approvals: Mapping[str, str]) -> bool:
    """Whether ``person`` (holding a missing approver role) may approve now under the four-eyes rule."""
    return not gate.distinct_people or person not in approvals.values()


def evaluate(
    definition: Definition,
    phase: Phase,
    tasks_done: Mapping[str, str],
    approvals: Mapping[str, str],
    team: Mapping[str, Sequence[str]],
    present: Mapping[str, Current] | None = None,
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
    satisfied, missing = gate_open(gate, approvals)
    if satisfied:
        return PhaseEvaluation(tasks_open, True, (), tuple(blockers), can_do, {}, waiting)
    can_sign = {r: tuple(p for p in team.get(r) or () if may_sign(gate, p, approvals)) for r in missing}
    who = {r: _who_can_sign(definition, r, can_sign[r], team, approvals) for r in missing}
    if gate.required == "all":
        blockers += [
            f"waiting for the {possessive(definition.role_title(r))} approval: {who[r]}" for r in missing
        ]
    else:
        more = gate.needed - approvals_counted(gate, approvals)
        listed = "; ".join(f"{definition.role_title(r)} ({who[r]})" for r in missing)
        blockers.append(
            f"waiting for {more} more approval{'s' if more != 1 else ''} of '{gate.title}' from: {listed}"
        )
    return PhaseEvaluation(tasks_open, False, missing, tuple(blockers), can_do, can_sign, waiting)


def _who_can_sign(
    definition: Definition,
    role: str,
    eligible: Sequence[str],
    team: Mapping[str, Sequence[str]],
    approvals: Mapping[str, str],
) -> str:
    """The people who can approve ``role`` now, or why nobody can and what would change that."""
    if eligible:
        return ", ".join(eligible)
    holders = team.get(role) or ()
    if not holders:
        return "nobody holds the role yet; assign someone to it"
    signed = {person: other for other, person in approvals.items()}
    already = ", ".join(f"{p} already signed as {definition.role_title(signed[p])}" for p in holders)
    undo = (
        f"{holders[0]} withdraws the {definition.role_title(signed[holders[0]])} approval"
        if len(holders) == 1
        else "one of them withdraws their other approval"
    )
    return f"nobody can give it now: {already}; assign another {definition.role_title(role)}, or {undo}"
