"""Point-in-time status rebuilt from the history, and replay reproducing the stored state exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from workflow import Engine
from workflow.domain.audit.replay import replay
from workflow.errors import NotFound, NotPermitted, PhasegateError
from workflow.storage.tables import approvals, assignments, projects, tasks

MODELS = ["large-agency", "digital-agency", "team-based"]
TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.grant("olga", "auditor", actor="ana")
        yield e


def last_at(engine: Engine, code: str) -> str:
    return engine.history(code)[-1].at


def test_status_at_follows_a_project_through_a_rejection_and_re_entry(engine: Engine) -> None:
    engine.create_project("P-1", template="large-agency", actor="ana")
    created = last_at(engine, "P-1")
    for role, person in TEAM.items():
        engine.assign("P-1", role, person, actor="ana")
    for role, person in TEAM.items():
        engine.complete_task("P-1", role, actor=person)
    engine.approve("P-1", "integrated_producer", actor="ana", comment="fine")
    engine.approve("P-1", "head_of_technology", actor="ben")
    before_reject = last_at(engine, "P-1")
    engine.reject("P-1", "project_manager", actor="cy", reason="budget missing")
    after_reject = last_at(engine, "P-1")
    engine.complete_task("P-1", "head_of_technology", actor="ben", note="again")
    engine.assign("P-1", "project_manager", "dee", actor="ana")
    re_entered = last_at(engine, "P-1")

    at_creation = engine.status("P-1", at=created)
    assert (at_creation.phase, at_creation.round, at_creation.as_of) == ("client_kickoff", 1, created)
    assert all(people == [] for people in at_creation.team.values())
    assert not any(t.done for t in at_creation.tasks)

    st1 = engine.status("P-1", at=before_reject)
    assert (st1.phase, st1.round, st1.status) == ("client_kickoff", 1, "active")
    assert [(t.role, t.by) for t in st1.tasks] == [(r, p) for r, p in TEAM.items()]
    assert st1.gate is not None
    assert [(a.role, a.person, a.comment) for a in st1.gate.approvals] == [
        ("integrated_producer", "ana", "fine"),
        ("head_of_technology", "ben", None),
    ]
    assert st1.gate.missing == ["project_manager"] and not st1.can_advance
    assert st1.blockers == ["waiting for the Project Manager's approval: cy"]

    st2 = engine.status("P-1", at=after_reject)
    assert (st2.phase, st2.round) == ("client_kickoff", 2)
    assert not any(t.done for t in st2.tasks)
    assert st2.gate is not None and st2.gate.approvals == []

    st3 = engine.status("P-1", at=re_entered)
    assert [(t.role, t.by, t.note) for t in st3.tasks if t.done] == [("head_of_technology", "ben", "again")]
    assert st3.team["project_manager"] == ["cy", "dee"]
    assert st2.team["project_manager"] == ["cy"]

    now = engine.status("P-1")
    assert st3 == type(now)(**{**now.__dict__, "as_of": re_entered})


def test_status_at_a_moment_between_events_shows_the_earlier_one(engine: Engine) -> None:
    engine.create_project("P-1", template="team-based", actor="ana")
    engine.assign("P-1", "integrated_producer", "ana", actor="ana")
    first, second = engine.history("P-1")
    assert first.at < second.at  # times are strictly increasing per chain (microseconds)
    earlier = engine.status("P-1", at=first.at)
    assert (earlier.seq, earlier.team["integrated_producer"]) == (1, [])
    later = engine.status("P-1", at=second.at)
    assert (later.seq, later.team["integrated_producer"]) == (2, ["ana"])


def test_status_at_before_creation_or_by_a_stranger_is_refused(engine: Engine) -> None:
    engine.create_project("P-1", template="team-based", actor="ana")
    with pytest.raises(NotFound, match="did not exist yet"):
        engine.status("P-1", at="2000-01-01")
    with pytest.raises(NotPermitted):
        engine.status("P-1", at="2999-01-01", reader="mallory")
    assert engine.status("P-1", at="2999-01-01", reader="olga").phase == "client_kickoff"


# -- the property: replay reproduces the stored rows ------------------------------------------------

PEOPLE = ["ana", "ben", "cy", "dee"]
# Weighted: mostly the moves that make progress, now and then the ones that branch or stop.
KINDS = (
    ["task"] * 6
    + ["approve"] * 6
    + ["advance"] * 4
    + ["resume"] * 2
    + ["reject", "hold", "assign", "unassign", "cancel"]
)
# (kind, role index, person index, stranger?): resolved against the project's current state, so most
# commands are valid-ish (a holder of the role acts) and some come from anyone (and are refused).
command = st.tuples(st.sampled_from(KINDS), st.integers(0, 5), st.integers(0, 3), st.integers(0, 9))


def apply(engine: Engine, code: str, cmd: tuple[str, int, int, int]) -> None:
    kind, r, p, odd = cmd
    if kind == "cancel" and odd != 9:  # rarely: a cancelled project stops the rest of the sequence
        kind = "resume"
    status = engine.status(code)
    roles = list(status.team)
    role = roles[r % len(roles)]
    if kind in ("advance", "hold", "resume", "cancel"):
        role = status.lead
    elif kind == "task" and odd < 8 and (open_ := [t.role for t in status.tasks if not t.done]):
        role = open_[r % len(open_)]
    elif kind in ("approve", "reject") and status.gate is not None and odd < 8:
        candidates = status.gate.missing or status.gate.approvers
        role = candidates[r % len(candidates)]
    holders = status.team[role]
    person = holders[p % len(holders)] if holders and odd != 0 else PEOPLE[p]
    try:
        if kind == "assign":
            engine.assign(code, role, PEOPLE[p], actor="ana")
        elif kind == "unassign":
            engine.unassign(code, role, person, actor="ana")
        elif kind == "task":
            engine.complete_task(code, role, actor=person, note=f"by {person}" if odd % 2 else None)
        elif kind == "approve":
            engine.approve(code, role, actor=person, comment="ok" if odd % 2 else None)
        elif kind == "reject":
            engine.reject(code, role, actor=person, reason="not yet")
        elif kind == "advance":
            engine.advance(code, actor=person)
        elif kind == "hold":
            engine.hold(code, actor=person, reason="pause")
        elif kind == "resume":
            engine.resume(code, actor=person)
        else:
            engine.cancel(code, actor=person, reason="stop")
    except PhasegateError:
        pass  # refusals are part of the property: they must leave no trace


def staff(engine: Engine, code: str, shift: int) -> None:
    """One distinct person per role (the four-eyes rule needs that to pass a gate)."""
    for i, role in enumerate(engine.status(code).team):
        engine.assign(code, role, PEOPLE[(i + shift) % len(PEOPLE)], actor="ana")


def stored(engine: Engine, code: str) -> dict[str, Any]:
    with engine.store.connect() as conn:
        p = conn.execute(select(projects).where(projects.c.code == code)).one()
        team: dict[str, list[str]] = {}
        for r in conn.execute(
            select(assignments).where(assignments.c.project_id == p.id).order_by(assignments.c.person)
        ):
            team.setdefault(r.role, []).append(r.person)
        done = {
            (r.phase, r.round, r.role): (r.person, r.note, r.done_at, r.seq)
            for r in conn.execute(select(tasks).where(tasks.c.project_id == p.id))
        }
        signed = {
            (r.phase, r.round, r.role): (r.person, r.comment, r.approved_at, r.seq)
            for r in conn.execute(select(approvals).where(approvals.c.project_id == p.id))
        }
    return {
        "phase": p.phase,
        "round": p.round,
        "status": p.status,
        "rounds": json.loads(p.rounds),
        "seq": p.seq,
        "head_hash": p.head_hash,
        "updated_at": p.updated_at,
        "name": p.name,
        "hold_seq": p.hold_seq,
        "rejection_seq": p.rejection_seq,
        "team": team,
        "tasks": done,
        "approvals": signed,
    }


def replayed(engine: Engine, code: str) -> dict[str, Any]:
    s = replay(code, engine.history(code))
    return {
        "phase": s.phase,
        "round": s.round,
        "status": s.status,
        "rounds": s.rounds,
        "seq": s.seq,
        "head_hash": s.head_hash,
        "updated_at": s.updated_at,
        "name": s.name,
        "hold_seq": s.hold_seq,
        "rejection_seq": s.rejection_seq,
        "team": s.team_lists(),
        "tasks": {k: (t.person, t.note, t.at, t.seq) for k, t in s.tasks.items()},
        "approvals": {k: (a.person, a.comment, a.at, a.seq) for k, a in s.approvals.items()},
    }


@pytest.mark.slow
def test_replaying_any_projects_history_reproduces_its_stored_state(engine: Engine, db_url: str) -> None:
    """Random command sequences by random people on the three models; refusals welcome."""
    counter = iter(range(10**6))

    @settings(max_examples=30 if db_url.startswith("sqlite") else 8, deadline=None, database=None)
    @given(
        model=st.sampled_from(MODELS),
        shift=st.integers(0, 3),
        commands=st.lists(command, min_size=15, max_size=60),
    )
    def check(model: str, shift: int, commands: list[tuple[str, int, int, int]]) -> None:
        code = f"R-{next(counter)}"
        engine.create_project(code, template=model, actor="ana", name="replay")
        staff(engine, code, shift)
        for cmd in commands:
            apply(engine, code, cmd)
        assert replayed(engine, code) == stored(engine, code)
        now = engine.status(code)
        assert engine.status(code, at=now.updated_at) == type(now)(
            **{**now.__dict__, "as_of": now.updated_at}
        )

    check()


def test_the_property_reaches_far_into_the_models(engine: Engine) -> None:
    """A guided walk, so the property is known to cover advancing, rejecting and completing."""
    team = {"integrated_producer": "ana", "team": "fay"}
    engine.create_project("W-1", template="team-based", actor="ana")
    for role, person in team.items():
        engine.assign("W-1", role, person, actor="ana")
    rejected = False
    while engine.status("W-1").status == "active":
        st_ = engine.status("W-1")
        for t in st_.tasks:
            if not t.done:
                engine.complete_task("W-1", t.role, actor=team[t.role])
        if st_.gate:
            if not rejected:
                engine.reject("W-1", "team", actor="fay", reason="once")
                rejected = True
                continue
            for role in st_.gate.missing:
                engine.approve("W-1", role, actor=team[role])
        engine.advance("W-1", actor="ana")
    assert replayed(engine, "W-1") == stored(engine, "W-1")
    assert engine.status("W-1", at="2999-01-01").status == "completed"
