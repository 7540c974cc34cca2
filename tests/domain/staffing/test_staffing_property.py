"""The staffing check against an exhaustive search (issue 26 part 3's property test).

On random small templates and teams, ``check`` says a gate "can pass" exactly when some sequence of
sign-offs the rules allow passes it. The search knows nothing of matchings: it tries every person, every
way they may act (as themselves, or for someone through a delegation: ``ways_to_act``), every role,
asking the rules the engine asks: the duties rules' ``refusal``, and the same search again through
``rules.require_party`` and ``rules.may_approve`` on a real :class:`~workflow.domain.rules.Context`
(for oneself, or on behalf of each person who delegated to the actor).

Bounded: at most 4 roles, 5 people, 3 phases; hypothesis with a fixed seed (derandomized) and a fixed
number of examples.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.domain import rules
from workflow.domain.duties.delegations import Delegation
from workflow.domain.duties.signing import Acting, Earlier, counted, people_of, refusal, ways_to_act
from workflow.domain.staffing.gates import Staffing, check_gates
from workflow.domain.state import ProjectState, Signature
from workflow.domain.templates.definition import Definition, Gate, Phase, Role
from workflow.domain.templates.version import TemplateVersion
from workflow.domain.vocabulary import ACTIVE, DISABLED
from workflow.errors import PhasegateError

ROLES = ("r0", "r1", "r2", "r3")
PEOPLE = ("ana", "ben", "cy", "dee", "eve")
NOW = "2026-12-14T10:00:00.000000Z"
CODE = "P-1"
SETTINGS = settings(max_examples=150, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def gates(draw: Any, roles: Sequence[str]) -> Gate:
    approvers = tuple(draw(st.lists(st.sampled_from(roles), min_size=1, max_size=len(roles), unique=True)))
    required = draw(st.one_of(st.just("all"), st.just("any"), st.integers(1, len(approvers))))
    return Gate(draw(st.sampled_from(["Sign-off", "Review"])) + f" {len(approvers)}", approvers, required,
                draw(st.booleans()))


@st.composite
def teams(draw: Any, roles: Sequence[str]) -> dict[str, tuple[str, ...]]:
    return {r: tuple(sorted(draw(st.sets(st.sampled_from(PEOPLE), max_size=3)))) for r in roles}


@st.composite
def delegations(draw: Any, team: Mapping[str, Sequence[str]]) -> list[Delegation]:
    members = sorted({p for ps in team.values() for p in ps})
    out = []
    for i in range(draw(st.integers(0, 2)) if members else 0):
        person = draw(st.sampled_from(members))
        to = draw(st.sampled_from([p for p in PEOPLE if p != person]))
        roles = tuple(draw(st.sets(st.sampled_from(ROLES), max_size=1)))
        out.append(Delegation(f"d{i}", person, to, "2026-12-10", "2026-12-21", roles, None, None, person, NOW, i))
    return out


@st.composite
def single_gates(draw: Any) -> tuple[Definition, dict[str, tuple[str, ...]], frozenset[str], list[Delegation]]:
    roles = ROLES[: draw(st.integers(1, 4))]
    gate = draw(gates(roles))
    definition = _definition(roles, [Phase("p0", "Phase", (), gate)])
    team = draw(teams(roles))
    disabled = frozenset(draw(st.sets(st.sampled_from(PEOPLE), max_size=2)))
    return definition, team, disabled, draw(delegations(team))


def _definition(roles: Sequence[str], phases: list[Phase]) -> Definition:
    return Definition("t", "T", tuple(Role(r, r.upper()) for r in roles), roles[0], tuple(phases))


# -- the search: every sign-off the rules allow, one at a time ------------------------------------------


def _acts(person: str, role: str, gate: Gate, team: Mapping[str, Sequence[str]], disabled: frozenset[str],
          dels: Sequence[Delegation]) -> list[Acting]:
    if person in disabled:  # rules.require_party refuses a disabled account anything
        return []
    return ways_to_act(person, role, CODE, NOW, team, dels, delegable=gate.delegable)


def signable(definition: Definition, gate: Gate, team: Mapping[str, Sequence[str]], disabled: frozenset[str],
             dels: Sequence[Delegation], earlier: Sequence[Earlier]) -> Iterator[dict[str, frozenset[str]]]:
    """Every set of approvals (role -> people) that passes ``gate``, reached one sign-off at a time."""
    seen: set[frozenset[tuple[str, frozenset[str]]]] = set()
    stack: list[dict[str, frozenset[str]]] = [{}]
    while stack:
        approvals = stack.pop()
        key = frozenset(approvals.items())
        if key in seen:
            continue
        seen.add(key)
        if counted(gate, approvals) >= gate.needed:
            yield approvals
            continue
        for role in gate.approvers:
            for person in sorted({*PEOPLE, *(p for ps in team.values() for p in ps)}):
                for acting in _acts(person, role, gate, team, disabled, dels):
                    if refusal(definition, gate, role, acting, approvals, earlier) is None:
                        stack.append({**approvals, role: people_of(acting)})


def _state(team: Mapping[str, Sequence[str]], approvals: Mapping[str, tuple[str, str | None]],
           dels: Sequence[Delegation] = ()) -> ProjectState:
    signatures = {r: Signature(p, None, NOW, 1, on_behalf_of=behalf) for r, (p, behalf) in approvals.items()}
    return ProjectState(1, CODE, None, None, 1, "p0", 1, ACTIVE, "{}", 1, "", NOW, NOW, None, None, None,
                        None, None, None, None, None, MappingProxyType({r: tuple(p) for r, p in team.items()}),
                        MappingProxyType({}), MappingProxyType({}), MappingProxyType(signatures),
                        delegations=tuple(dels), read_at=NOW)


def passable_by_the_engine_rules(definition: Definition, team: Mapping[str, Sequence[str]],
                                 disabled: frozenset[str], dels: Sequence[Delegation] = ()) -> bool:
    """The engine's rule, asked as the engine asks it: require_party, then may_approve (for oneself,
    or on behalf of each person who delegated to the actor), one sign-off at a time."""
    gate = definition.phases[0].gate
    assert gate is not None
    tpl = TemplateVersion.of(1, "t", 1, "", definition)
    universe = sorted({*PEOPLE, *(p for ps in team.values() for p in ps)})
    seen: set[frozenset[tuple[str, tuple[str, str | None]]]] = set()
    stack: list[dict[str, tuple[str, str | None]]] = [{}]
    while stack:
        approvals = stack.pop()
        if frozenset(approvals.items()) in seen:
            continue
        seen.add(frozenset(approvals.items()))
        if _state(team, approvals, dels).evaluation(definition).gate_satisfied:
            return True
        for role in gate.approvers:
            for person in universe:
                privileges = frozenset({DISABLED}) if person in disabled else frozenset()
                ctx = rules.Context(_state(team, approvals, dels), tpl, person, privileges, NOW)
                for behalf in [None, *sorted({d.person for d in dels if d.to == person})]:
                    try:
                        rules.require_party(ctx)
                        _gate, acting = rules.may_approve(ctx, role, behalf)
                    except PhasegateError:
                        continue
                    stack.append({**approvals, role: (acting.person, acting.on_behalf_of)})
    return False


@pytest.mark.slow  # hypothesis, 150 examples each searched twice: about 3 s
@SETTINGS
@given(single_gates())
def test_a_gate_can_pass_exactly_when_some_sequence_of_sign_offs_passes_it(
    case: tuple[Definition, dict[str, tuple[str, ...]], frozenset[str], list[Delegation]],
) -> None:
    definition, team, disabled, dels = case
    gate = definition.phases[0].gate
    assert gate is not None
    report = check_gates(definition, Staffing(team, disabled, dels, code=CODE, at=NOW))
    found = next(signable(definition, gate, team, disabled, dels, ()), None) is not None
    assert report.gates[0].can_pass is found, (report.gates[0].sentence, team, disabled, dels)
    assert passable_by_the_engine_rules(definition, team, disabled, dels) is found
    if not found:  # the fixes it suggests are enough: apply them and the search finds a way
        fixed = {r: tuple(p) for r, p in team.items()}
        for i, fix in enumerate(report.gates[0].fixes):
            fixed[fix.role] = (*fixed.get(fix.role, ()), fix.person or f"new{i}")
        assert next(signable(definition, gate, fixed, disabled, dels, ()), None) is not None


# -- two phases, the second gate kept apart from the first's work ---------------------------------------


@st.composite
def kept_apart(draw: Any) -> tuple[Definition, dict[str, tuple[str, ...]], frozenset[str]]:
    roles = ROLES[: draw(st.integers(2, 3))]
    first, second = draw(gates(roles)), draw(gates(roles))
    task_role = draw(st.one_of(st.none(), st.sampled_from(roles)))
    refs = ("p0.gate",) + (() if task_role is None else (f"p0.task.{task_role}",))
    tasks = () if task_role is None else ((task_role, "Do it"),)
    second = Gate(second.title + " (2)", second.approvers, second.required, second.distinct_people,
                  distinct_from=refs)
    definition = _definition(roles, [Phase("p0", "First", tasks, first), Phase("p1", "Second", (), second)])
    return definition, draw(teams(roles)), frozenset(draw(st.sets(st.sampled_from(PEOPLE), max_size=1)))


def every_gate_passes(definition: Definition, team: Mapping[str, Sequence[str]], disabled: frozenset[str]) -> bool:
    first, second = (p.gate for p in definition.phases)
    assert first is not None and second is not None
    task = definition.phases[0].tasks
    doers: list[Earlier | None] = [None]
    if task:
        role = task[0][0]
        doers = [Earlier(f"p0.task.{role}", a.person, a.on_behalf_of, 1)
                 for p in PEOPLE for a in _acts(p, role, first, team, disabled, ())]
    for done in doers:
        for signed in signable(definition, first, team, disabled, (), ()):
            earlier = [Earlier("p0.gate", next(iter(people)), None, 2) if len(people) == 1 else
                       Earlier("p0.gate", sorted(people)[0], sorted(people)[1], 2) for people in signed.values()]
            earlier += [done] if done is not None else []
            if next(signable(definition, second, team, disabled, (), earlier), None) is not None:
                return True
    return False


@pytest.mark.slow  # hypothesis, 150 examples: about 3 s
@SETTINGS
@given(kept_apart())
def test_separation_of_duties_with_work_still_to_come_matches_the_search(
    case: tuple[Definition, dict[str, tuple[str, ...]], frozenset[str]],
) -> None:
    definition, team, disabled = case
    report = check_gates(definition, Staffing(team, disabled, code=CODE, at=NOW))
    assert report.ok is every_gate_passes(definition, team, disabled), [g.sentence for g in report.gates]


@pytest.mark.parametrize("seed_team", [{"r0": ("ana",), "r1": ("ana",)}])
def test_the_search_itself_can_fail(seed_team: dict[str, tuple[str, ...]]) -> None:
    """A gate two roles held by one person must sign under four eyes: the search finds no way."""
    definition = _definition(("r0", "r1"), [Phase("p0", "Phase", (), Gate("G", ("r0", "r1")))])
    gate = definition.phases[0].gate
    assert gate is not None
    assert next(signable(definition, gate, seed_team, frozenset(), (), ()), None) is None
    assert not passable_by_the_engine_rules(definition, seed_team, frozenset())
    assert not check_gates(definition, Staffing(seed_team)).ok
