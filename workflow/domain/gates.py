"""Whether a phase may be left: its tasks, its gate, and the sentences that say who is holding it up.

Pure functions over plain mappings; the Engine feeds them rows read under the
project's lock, ``project status`` and ``project list`` feed them rows read for
display, so the rule and its explanation cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workflow.domain.definition import Definition, Gate, Phase


@dataclass(frozen=True)
class PhaseEvaluation:
    tasks_open: tuple[str, ...]  # roles whose task is not done
    gate_satisfied: bool  # True when the phase has no gate
    gate_missing: tuple[str, ...]  # approver roles that could still sign
    blockers: tuple[str, ...]  # sentences, each naming who can unblock it

    @property
    def ready(self) -> bool:
        return not self.tasks_open and self.gate_satisfied


def _people(team: Mapping[str, Sequence[str]], role: str) -> str:
    people = team.get(role) or ()
    return ", ".join(people) if people else "nobody holds this role yet"


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


def evaluate(
    definition: Definition,
    phase: Phase,
    tasks_done: Mapping[str, str],
    approvals: Mapping[str, str],
    team: Mapping[str, Sequence[str]],
) -> PhaseEvaluation:
    """What still stands between ``phase`` (in its current round) and the next phase."""
    blockers: list[str] = []
    tasks_open = tuple(role for role in phase.task_roles if role not in tasks_done)
    for role in tasks_open:
        blockers.append(
            f"waiting for the {definition.role_title(role)}'s task "
            f"'{phase.task_of(role)}': {_people(team, role)}"
        )
    gate = phase.gate
    if gate is None:
        return PhaseEvaluation(tasks_open, True, (), tuple(blockers))
    satisfied, missing = gate_open(gate, approvals)
    if not satisfied:
        if gate.required == "all":
            for role in missing:
                blockers.append(
                    f"waiting for the {definition.role_title(role)}'s approval: {_people(team, role)}"
                )
        else:
            more = gate.needed - approvals_counted(gate, approvals)
            who = "; ".join(f"{definition.role_title(r)} ({_people(team, r)})" for r in missing)
            blockers.append(
                f"waiting for {more} more approval{'s' if more != 1 else ''} of '{gate.title}' from: {who}"
            )
    return PhaseEvaluation(tasks_open, satisfied, missing if not satisfied else (), tuple(blockers))
