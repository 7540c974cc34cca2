"""Can every remaining gate be signed, with this team? "Can pass", or why not and the smallest fix.

A gate passes when ``needed`` of its approver roles are signed, each by a holder of the role (or a
delegate acting for one), and (four eyes, ``distinct_people``) no person stands behind two of its
signatures. Who may sign a role: ``signers.py``, the engine's own rules. Whether enough distinct people
exist is a bipartite matching (``matching.py``); the roles it leaves short say why, and one more signer
for one of them per missing signature is the smallest change (each added holder grows the matching by
at most one, and one added to a short role always does).

Separation of duties (``distinct_from``) against work already done bars its people (``signers.py``).
Against work still to come (a gate or a task of a phase from the current one to this gate's), the
gate and that work must be staffed by different people: a bounded search over this gate's signers,
each choice leaving the work to the rest of the team (:func:`_apart`).

Pure: the engine feeds the team, the accounts, the delegations in force and the history it read;
``template check --team`` feeds a staffing plan.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from workflow.domain.duties.delegations import Delegation
from workflow.domain.duties.signing import Earlier, counted, title_of, ways_to_act
from workflow.domain.staffing import words
from workflow.domain.staffing.matching import maximum_matching
from workflow.domain.staffing.signers import Context, Option, best, pool
from workflow.domain.templates.definition import Definition, Gate, Phase

#: Choices of signers tried for one gate kept apart from work still to come; past it the gate is taken
#: to pass (bounded time; a template and team that large would be unusual).
STEPS_MAX = 20_000


@dataclass(frozen=True)
class Staffing:
    """Who could sign: the team (role -> people), the disabled accounts, the delegations in force at
    ``at`` on project ``code``, and the project's earlier work (``distinct_from`` names it)."""

    team: Mapping[str, Sequence[str]]
    disabled: frozenset[str] = frozenset()
    delegations: Sequence[Delegation] = ()
    earlier: Sequence[Earlier] = ()
    code: str = ""
    at: str = ""


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
    gates: tuple[GateCheck, ...] = field(default_factory=tuple)

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
                approvals: Mapping[str, frozenset[str]] | None = None, tasks_done: Collection[str] = (),
                subject: str = "") -> StaffingCheck:
    """Every gate from phase ``start`` (None: the first) to the last. ``approvals`` (role -> the people
    of its signature) and ``tasks_done`` (roles) are ``start``'s in its current round."""
    first = 0 if start is None else definition.phase_position(start)
    given = dict(approvals or {})
    checks = []
    for phase in definition.phases[first:]:
        if phase.gate is None:
            continue
        signed = given if phase.key == definition.phases[first].key else {}
        ahead = _work_ahead(definition, phase, first, given, set(tasks_done))
        checks.append(check_gate(definition, phase, staffing, signed, ahead))
    return StaffingCheck(subject or definition.key, tuple(checks))


def check_gate(definition: Definition, phase: Phase, staffing: Staffing,
               approvals: Mapping[str, frozenset[str]], ahead: Sequence[Work] = ()) -> GateCheck:
    gate = phase.gate
    assert gate is not None
    ctx = _context(definition, staffing)
    signed = {r: people for r, people in approvals.items() if r in gate.approvers}
    need = gate.needed - counted(gate, signed)
    passes = GateCheck(phase.key, phase.title, gate.title, True)
    if need <= 0:
        return passes
    roles = [r for r in gate.approvers if r not in signed]
    found = pool(ctx, gate, roles, signed)
    matching, edges = best(roles, found.options, gate.distinct_people)
    short = need - len(matching.pairs)
    said = words.Words(definition, gate.title, staffing.team, staffing.disabled, found.why_not)
    if short > 0:
        reasons: list[str] = []
        fixes: list[Fix] = []
        for added in range(short):
            empty = [r for r in matching.short if not edges[r]]
            role = empty[0] if empty else _pick(matching.short, staffing.team)
            reason = said.nobody(role) if empty else said.too_few(matching, short - added)
            if reason not in reasons:
                reasons.append(reason)
            helper = _helper(ctx, gate, role, roles, signed, edges, len(matching.pairs))
            fixes.append(Fix(role, helper, said.fix(role, helper, matching.short)))
            edges[role] = [*edges[role], helper if helper is not None else f"\0new{added}"]
            matching = maximum_matching(roles, edges)
        return GateCheck(phase.key, phase.title, gate.title, False, tuple(reasons), tuple(fixes))
    if not ahead or _apart(definition, gate, staffing, signed, ahead) is not False:
        return passes
    return GateCheck(phase.key, phase.title, gate.title, False, (said.kept_apart([w.title for w in ahead]),),
                     _apart_fixes(definition, gate, staffing, signed, ahead, said))


def _context(definition: Definition, staffing: Staffing) -> Context:
    return Context(staffing.team, staffing.disabled, staffing.delegations, staffing.earlier, staffing.code,
                   staffing.at, definition)


def _pick(roles: Sequence[str], team: Mapping[str, Sequence[str]]) -> str:
    """The short role to staff: the one with the fewest holders (the later one on a tie, as the
    template lists the senior approver first)."""
    return min(reversed(roles), key=lambda r: len(team.get(r, ())))


def _helper(ctx: Context, gate: Gate, role: str, roles: Sequence[str], signed: Mapping[str, frozenset[str]],
            edges: Mapping[str, list[str]], size: int) -> str | None:
    """Someone already on the team who, given ``role``, would make the matching one larger."""
    members = sorted({p for people in ctx.team.values() for p in people} - set(ctx.team.get(role, ())))
    for person in members:
        team = {**ctx.team, role: (*ctx.team.get(role, ()), person)}
        options = pool(ctx._replace(team=team), gate, [role], signed).options[role]
        if Option(person) not in options:
            continue
        trial = {**edges, role: [*edges[role], person]}
        if len(maximum_matching(roles, trial).pairs) > size:
            return person
    return None


# -- kept apart from work still to come -----------------------------------------------------------------


class Work(NamedTuple):
    """Work a gate is kept apart from that is still to be done: a gate (with its approvals so far) or a
    task (``role``)."""

    title: str
    phase: str
    role: str | None  # the task's role; None: the phase's gate
    signed: Mapping[str, frozenset[str]]


def _work_ahead(definition: Definition, phase: Phase, first: int, given: Mapping[str, frozenset[str]],
                tasks_done: set[str]) -> list[Work]:
    """The work ``phase``'s gate is kept apart from that is still to be done: gates and tasks of the
    phases from the current one up to (not including) this gate's own. A task of its own phase not yet
    done can be done after the gate is signed, and a later phase's work after it too: no constraint."""
    gate = phase.gate
    assert gate is not None
    mine = definition.phase_position(phase.key)
    work: list[Work] = []
    for ref in gate.distinct_from:
        key, kind, *role = ref.split(".")
        at = definition.phase_position(key)
        if not first <= at < mine:
            continue
        if kind == "task" and (at != first or role[0] not in tasks_done):
            work.append(Work(title_of(definition, ref), key, role[0], {}))
        elif kind == "gate":
            work.append(Work(title_of(definition, ref), key, None, given if at == first else {}))
    return work


def _can(definition: Definition, work: Work, blocked: frozenset[str], staffing: Staffing) -> bool:
    """Whether ``work`` can be done by people outside ``blocked``."""
    if work.role is not None:
        for person in {*staffing.team.get(work.role, ()), *(d.to for d in staffing.delegations)} - blocked:
            if person in staffing.disabled:
                continue
            ways = ways_to_act(person, work.role, staffing.code, staffing.at, staffing.team,
                               staffing.delegations)
            if any(w.people.isdisjoint(blocked) for w in ways):
                return True
        return False
    phase = definition.phase(work.phase)
    assert phase is not None and phase.gate is not None
    gate = phase.gate
    need = gate.needed - counted(gate, work.signed)
    roles = [r for r in gate.approvers if r not in work.signed]
    options = pool(_context(definition, staffing), gate, roles, work.signed, blocked).options
    return need <= 0 or len(best(roles, options, gate.distinct_people)[0].pairs) >= need


class _Undecided(Exception):
    pass


def _apart(definition: Definition, gate: Gate, staffing: Staffing, signed: Mapping[str, frozenset[str]],
           ahead: Sequence[Work]) -> bool | None:
    """Whether some choice of this gate's signers leaves every piece of work ``ahead`` to others
    (None: undecided within :data:`STEPS_MAX` choices)."""
    need = gate.needed - counted(gate, signed)
    roles = [r for r in gate.approvers if r not in signed]
    options = pool(_context(definition, staffing), gate, roles, signed).options
    steps = 0

    def search(i: int, count: int, used: frozenset[str]) -> bool:
        nonlocal steps
        steps += 1
        if steps > STEPS_MAX:
            raise _Undecided
        if count == need:
            return all(_can(definition, work, used, staffing) for work in ahead)
        if len(roles) - i < need - count:
            return False
        for option in options[roles[i]]:
            if gate.distinct_people and not option.people.isdisjoint(used):
                continue
            if search(i + 1, count + 1, used | option.people):
                return True
        return search(i + 1, count, used)

    try:
        return search(0, 0, frozenset())
    except _Undecided:
        return None


def _apart_fixes(definition: Definition, gate: Gate, staffing: Staffing, signed: Mapping[str, frozenset[str]],
                 ahead: Sequence[Work], said: words.Words) -> tuple[Fix, ...]:
    """One more holder of one role (of this gate, or of the work ahead) that makes them separable:
    someone on the team if one would do, else anyone new; if no one role is enough, say which."""
    candidates: dict[str, None] = dict.fromkeys(r for r in gate.approvers if r not in signed)
    for work in ahead:
        if work.role is not None:
            candidates[work.role] = None
        else:
            phase = definition.phase(work.phase)
            assert phase is not None and phase.gate is not None
            candidates.update(dict.fromkeys(phase.gate.approvers))
    members = sorted({p for people in staffing.team.values() for p in people} - staffing.disabled)
    for role in candidates:
        holders = tuple(staffing.team.get(role, ()))
        for person in [*[m for m in members if m not in holders], NEW]:
            trial = replace(staffing, team={**staffing.team, role: (*holders, person)})
            if _apart(definition, gate, trial, signed, ahead) is not False:
                helper = None if person == NEW else person
                return (Fix(role, helper, said.fix(role, helper, ())),)
    titles = " and ".join(definition.role_title(r) for r in candidates)
    return (Fix(next(iter(candidates)), None, f"assign more people to {titles}"),)


NEW = "\0new"  # a person no team holds and no history names (a login name never has a NUL)
