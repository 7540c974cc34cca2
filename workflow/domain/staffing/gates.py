"""Can every remaining gate be signed, with this team? "Can pass", or why not and the smallest fix.

A gate passes when ``needed`` of its approver roles are signed, each by a holder of the role, and
(four eyes, ``distinct_people``) no person signs for two roles of it. Who may sign a role here: its
holders, less the disabled accounts, less the people the template keeps apart from this gate
(``barred``: separation of duties, with the earlier signature that bars them), less (four eyes) the
people who already signed another role of the gate this round. Whether enough distinct people exist is
a bipartite matching (``matching.py``); the roles it leaves short say why, and one more signer for
one of them per missing signature is the smallest change (each added holder grows the matching by at
most one, and one added to a short role always does).

Pure: the engine feeds the team, the accounts and the history it read; ``template check --team``
feeds a staffing plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow.domain.gates import approvals_counted
from workflow.domain.staffing.matching import Matching, maximum_matching
from workflow.domain.templates.definition import Definition, Phase, possessive


@dataclass(frozen=True)
class Staffing:
    """Who could sign: the team (role -> people), the disabled accounts, and per phase the people
    barred from its gate with the reason ("ana signed 'SOW signed' (#14)")."""

    team: Mapping[str, Sequence[str]]
    disabled: frozenset[str] = frozenset()
    barred: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Fix:
    """One change that brings a gate one signature closer: give ``role`` another holder (``person``:
    someone already on the team who would do; None: anyone new)."""

    role: str
    person: str | None
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {"assign": self.role, "person": self.person, "sentence": self.sentence}


@dataclass(frozen=True)
class GateCheck:
    phase: str
    phase_title: str
    gate: str
    can_pass: bool
    reasons: tuple[str, ...] = ()
    fixes: tuple[Fix, ...] = ()

    @property
    def sentence(self) -> str:
        if self.can_pass:
            return f"'{self.gate}' ({self.phase_title}) can pass"
        return "; ".join(self.reasons) + ": " + ", and ".join(f.sentence for f in self.fixes)

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "phase_title": self.phase_title, "gate": self.gate,
                "can_pass": self.can_pass, "reasons": list(self.reasons),
                "fixes": [f.to_dict() for f in self.fixes], "sentence": self.sentence}


@dataclass(frozen=True)
class StaffingCheck:
    """Every remaining gate of a project (or of a template, for a staffing plan), in phase order."""

    subject: str  # the project's code, or the template's key
    gates: tuple[GateCheck, ...]

    @property
    def ok(self) -> bool:
        return all(g.can_pass for g in self.gates)

    @property
    def problems(self) -> tuple[GateCheck, ...]:
        return tuple(g for g in self.gates if not g.can_pass)

    @property
    def warnings(self) -> list[str]:
        """The sentences a staffing change shows beside its answer (not a refusal)."""
        return [g.sentence for g in self.problems]

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "ok": self.ok, "gates": [g.to_dict() for g in self.gates]}


def check_from_dict(doc: Mapping[str, Any]) -> StaffingCheck:
    """The inverse of :meth:`StaffingCheck.to_dict` (the HTTP client's answer)."""
    return StaffingCheck(doc["subject"], tuple(
        GateCheck(g["phase"], g["phase_title"], g["gate"], g["can_pass"], tuple(g["reasons"]),
                  tuple(Fix(f["assign"], f["person"], f["sentence"]) for f in g["fixes"]))
        for g in doc["gates"]))


def check_gates(definition: Definition, staffing: Staffing, *, start: str | None = None,
                approvals: Mapping[str, str] | None = None, subject: str = "") -> StaffingCheck:
    """Every gate from phase ``start`` (None: the first) to the last; ``approvals`` (role -> person) are
    those already given to ``start``'s gate in its current round."""
    first = 0 if start is None else definition.phase_position(start)
    checks = []
    for i, phase in enumerate(definition.phases[first:]):
        if phase.gate is not None:
            checks.append(check_gate(definition, phase, staffing, approvals if i == 0 and approvals else {}))
    return StaffingCheck(subject or definition.key, tuple(checks))


def check_gate(definition: Definition, phase: Phase, staffing: Staffing,
               approvals: Mapping[str, str]) -> GateCheck:
    gate = phase.gate
    assert gate is not None
    signed = {r: p for r, p in approvals.items() if r in gate.approvers}
    need = gate.needed - approvals_counted(gate, signed)
    if need <= 0:
        return GateCheck(phase.key, phase.title, gate.title, True)
    open_roles = [r for r in gate.approvers if r not in signed]
    taken = {p: r for r, p in signed.items()} if gate.distinct_people else {}
    barred = staffing.barred.get(phase.key, {})

    def signs(person: str) -> bool:
        return person not in staffing.disabled and person not in barred and person not in taken

    # Without four eyes one person may sign every role they hold: a node per (role, person) then.
    def node(role: str, person: str) -> str:
        return person if gate.distinct_people else f"{role}\0{person}"

    edges = {r: [node(r, p) for p in staffing.team.get(r, ()) if signs(p)] for r in open_roles}
    matching = maximum_matching(open_roles, edges)
    short = need - len(matching.pairs)
    if short <= 0:
        return GateCheck(phase.key, phase.title, gate.title, True)
    words = _Words(definition, gate.title, staffing, barred, taken)
    reasons: list[str] = []
    fixes: list[Fix] = []
    for added in range(short):
        empty = [r for r in matching.short if not edges[r]]
        role = empty[0] if empty else _pick(matching.short, staffing.team)
        reason = words.nobody(role) if empty else words.too_few(matching, short - added)
        if reason not in reasons:
            reasons.append(reason)
        helper = _helper(role, open_roles, edges, len(matching.pairs), staffing, signs, node)
        fixes.append(Fix(role, helper, words.fix(role, helper, matching.short)))
        edges[role] = [*edges[role], f"\0new{added}"]
        matching = maximum_matching(open_roles, edges)
    return GateCheck(phase.key, phase.title, gate.title, False, tuple(reasons), tuple(fixes))


def _pick(roles: Sequence[str], team: Mapping[str, Sequence[str]]) -> str:
    """The short role to staff: the one with the fewest holders (the later one on a tie, as the
    template lists the senior approver first)."""
    return min(reversed(roles), key=lambda r: len(team.get(r, ())))


def _helper(role: str, roles: Sequence[str], edges: Mapping[str, list[str]], size: int, staffing: Staffing,
            signs: Any, node: Any) -> str | None:
    """Someone already on the team who, given ``role``, would make the matching one larger."""
    members = sorted({p for people in staffing.team.values() for p in people})
    for person in members:
        if person in staffing.team.get(role, ()) or not signs(person):
            continue
        trial = {**edges, role: [*edges[role], node(role, person)]}
        if len(maximum_matching(roles, trial).pairs) > size:
            return person
    return None


class _Words:
    """The sentences of one gate's check."""

    def __init__(self, definition: Definition, title: str, staffing: Staffing, barred: Mapping[str, str],
                 taken: Mapping[str, str]) -> None:
        self.d, self.title, self.staffing = definition, title, staffing
        self.barred, self.taken = barred, taken

    def nobody(self, role: str) -> str:
        holders = self.staffing.team.get(role, ())
        name = self.d.role_title(role)
        if not holders:
            return f"'{self.title}' needs the {possessive(name)} approval and nobody holds the {name} role"
        return f"'{self.title}' needs the {possessive(name)} approval and nobody can give it: " + "; ".join(
            self.why_not(p) for p in holders)

    def why_not(self, person: str) -> str:
        if person in self.staffing.disabled:
            return f"{person}'s account is disabled"
        if person in self.barred:
            return f"{self.barred[person]}, so {person} may not sign '{self.title}'"
        return f"{person} already signed as the {self.d.role_title(self.taken[person])}"

    def too_few(self, matching: Matching, missing: int) -> str:
        roles = _and([self.d.role_title(r) for r in matching.short])
        near = matching.near
        count = len(near) + missing
        holds = f"{_and(list(near))} {'holds' if len(near) == 1 else 'hold'}"
        them = "both" if len(matching.short) == 2 else "them"
        holders = {p for r in matching.short for p in self.staffing.team.get(r, ())}
        if holders == set(near):
            return f"'{self.title}' needs {count} distinct people for {roles}; only {holds} {them}"
        return f"'{self.title}' needs {count} distinct people for {roles}; only {_and(list(near))} can sign"

    def fix(self, role: str, helper: str | None, short: Sequence[str]) -> str:
        """Another holder for ``role``; or, as good, an account enabled that holds a short role (it adds a
        signer there), or the signer of another role withdrawing where that was the role's only one."""
        name = self.d.role_title(role)
        holders = self.staffing.team.get(role, ())
        text = f"assign another {name}" if holders else f"assign someone to the {name} role"
        if helper is not None:
            text += f" (such as {helper})"
        off = self.staffing.disabled
        disabled = sorted({p for r in short for p in self.staffing.team.get(r, ()) if p in off})
        others = [f"enable {p}'s account" for p in disabled]
        others += [f"{p} withdraws the {self.d.role_title(self.taken[p])} approval"
                   for p in holders if p in self.taken and p not in self.staffing.disabled]
        return text + "".join(f", or {o}" for o in others)


def _and(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
