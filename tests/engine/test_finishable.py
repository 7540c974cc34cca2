"""The engine never strands a project, and every person a blocker names can in fact clear it.

From any reachable state of any built-in model, with any staffing that has at least one
distinct person per approver role (so the four-eyes rule can be met), some sequence of
commands by the assigned people completes the project — using withdraw where a signer
stands in the way — and at every step each person the status names as able to clear a
blocker can do so: their task done or approval is accepted (and then undone, to leave the
state as it was).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.invariants import assert_consistent, assert_history_obeys_the_rules

from workflow import Engine
from workflow.domain.results import ProjectStatus
from workflow.errors import NotPermitted, RuleRefused

pytestmark = pytest.mark.slow  # hypothesis over three models on both backends: ~40 s

MODELS = ["large-agency", "digital-agency", "team-based"]
PEOPLE = ["ana", "ben", "cy", "dee", "eli"]
ADMIN = "root"
# The moves of the random walk to a state: anything the team can do except cancelling (a
# cancelled project is ended on purpose) and unassigning (which could take away the very
# people the staffing promises).
WALK = ["task", "approve", "withdraw", "reopen", "reject", "advance", "hold", "resume", "assign"]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin=ADMIN)
        yield e


@st.composite
def staffing(draw: st.DrawFn, roles: list[str]) -> dict[str, list[str]]:
    """role -> people: one distinct person per role, plus any number of people holding several."""
    distinct = draw(st.permutations(PEOPLE))[: len(roles)]
    team = {role: [person] for role, person in zip(roles, distinct, strict=True)}
    for role, person in draw(st.lists(st.tuples(st.sampled_from(roles), st.sampled_from(PEOPLE)), max_size=4)):
        if person not in team[role]:
            team[role].append(person)
    return team


def lead_of(status: ProjectStatus) -> str:
    return status.team[status.lead][0]


def attempt(engine: Engine, code: str, move: str, pick: int) -> None:
    """One step of the walk, by an assigned person; refusals are part of the walk."""
    status = engine.status(code)
    roles = list(status.team)
    role = roles[pick % len(roles)]
    people = status.team[role]
    person = people[pick % len(people)]
    try:
        if move == "task":
            engine.complete_task(code, role, actor=person)
        elif move == "approve" and status.gate is not None:
            engine.approve(code, status.gate.approvers[pick % len(status.gate.approvers)], actor=person)
        elif move == "withdraw" and status.gate is not None and status.gate.approvals:
            signed = status.gate.approvals[pick % len(status.gate.approvals)]
            engine.withdraw(code, signed.role, actor=signed.person)
        elif move == "reopen":
            engine.reopen_task(code, role, actor=person, reason="redo")
        elif move == "reject" and status.gate is not None:
            engine.reject(code, status.gate.approvers[pick % len(status.gate.approvers)], actor=person,
                          reason="not yet")
        elif move in ("advance", "resume"):
            getattr(engine, move)(code, actor=lead_of(status))
        elif move == "hold":
            engine.hold(code, actor=lead_of(status), reason="pause")
        elif move == "assign":
            engine.assign(code, role, PEOPLE[pick % len(PEOPLE)], actor=ADMIN)
    except (RuleRefused, NotPermitted):
        pass


def check_every_named_person_can_clear(engine: Engine, code: str, status: ProjectStatus) -> None:
    """Each person the status names as able to clear a blocker is accepted (then undone)."""
    for waiting in status.waiting:
        role = waiting["role"]
        for person in waiting["people"]:
            assert any(person in b for b in status.blockers), (person, status.blockers)
            if waiting["kind"] == "task":
                engine.complete_task(code, role, actor=person)
                engine.reopen_task(code, role, actor=person, reason="only checking")
            else:
                engine.approve(code, role, actor=person)
                engine.withdraw(code, role, actor=person)
    for blocker in status.blockers:
        named = [p for w in status.waiting for p in w["people"]]
        if "nobody can give it now" in blocker or "nobody holds" in blocker:
            continue
        assert any(p in blocker for p in named), f"a blocker names someone the engine would refuse: {blocker}"


def finish(engine: Engine, code: str, distinct: dict[str, str]) -> int:
    """Drive the project to completed with only the team's commands; returns the steps taken."""
    for step in range(400):
        status = engine.status(code)
        if status.status == "completed":
            return step
        if status.status == "on_hold":
            engine.resume(code, actor=lead_of(status))
            continue
        check_every_named_person_can_clear(engine, code, status)
        if status.can_advance:
            engine.advance(code, actor=lead_of(status))
            continue
        todo = [w for w in status.waiting if w["people"]]
        if todo:
            w = todo[0]
            if w["kind"] == "task":
                engine.complete_task(code, w["role"], actor=w["people"][0])
            else:
                engine.approve(code, w["role"], actor=w["people"][0])
            continue
        # Nobody can sign a missing approval now: the signers step back, and the distinct people sign.
        assert status.gate is not None, status.blockers
        for approval in status.gate.approvals:
            engine.withdraw(code, approval.role, actor=approval.person, reason="make room for four eyes")
        for role in status.gate.approvers:
            engine.approve(code, role, actor=distinct[role])
    raise AssertionError(f"{code} did not complete: {engine.status(code).blockers}")


def test_from_any_reachable_state_the_team_can_always_finish_the_project(engine: Engine, db_url: str) -> None:
    counter = iter(range(10**6))

    @settings(max_examples=24 if db_url.startswith("sqlite") else 9, deadline=None, database=None)
    @given(data=st.data(), model=st.sampled_from(MODELS),
           walk=st.lists(st.tuples(st.sampled_from(WALK), st.integers(0, 7)), max_size=40))
    def check(data: st.DataObject, model: str, walk: list[tuple[str, int]]) -> None:
        code = f"F-{next(counter)}"
        engine.create_project(code, template=model, actor=ADMIN)
        roles = list(engine.status(code).team)
        team = data.draw(staffing(roles))
        for role, people in team.items():
            for person in people:
                engine.assign(code, role, person, actor=ADMIN)
        for move, pick in walk:
            attempt(engine, code, move, pick)
        finish(engine, code, {role: people[0] for role, people in team.items()})
        assert engine.status(code).status == "completed"
        assert_history_obeys_the_rules(engine, code)

    check()
    assert_consistent(engine)
