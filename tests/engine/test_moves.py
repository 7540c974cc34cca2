"""The page offers what the rules allow: for random states and people, a move is offered iff the
engine accepts it.

A seeded random walk over each built-in model: at each step a random person (the admin, an auditor,
the lead, team members holding one or several roles, a disabled account, an outsider) reads the
moves the page would draw for them (``Engine.status_and_moves``), then tries one of the moves the
page could draw for anyone; the engine must accept it exactly when it was offered. Offered moves are
tried more often than the others, so the walk goes through tasks, sign-offs, rejections, holds and
new rounds, and now and then ends in a cancellation or a completion.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from workflow import Engine
from workflow.domain.commands import COMMANDS, Move
from workflow.errors import PhasegateError

TEMPLATES = ["large-agency", "digital-agency", "team-based"]
PEOPLE = ["root", "aud", "lee", "ann", "bob", "cy", "dis", "out"]
STEPS = 160
REASON = "a reason"


def candidates(engine: Engine, code: str, template: str, version: int) -> list[Move]:
    """Every move the page could draw on the project for someone: each web command for each role (for
    each member of the team, where it names one), or once."""
    _info, definition, _source = engine.template(template, version)
    team = engine.status(code).team
    out = []
    for cmd in COMMANDS.values():
        if cmd.web is None:
            continue
        if cmd.web.each == "member":
            out += [Move(cmd.name, role, person) for role, people in team.items() for person in people]
        elif cmd.web.each == "role":
            out += [Move(cmd.name, role) for role in definition.role_keys]
        else:
            out.append(Move(cmd.name))
    return out


def attempt(engine: Engine, code: str, move: Move, actor: str, rng: random.Random) -> bool:
    """Run ``move`` as ``actor`` with what the page's form would send; True if the engine accepted it."""
    cmd = COMMANDS[move.command]
    args: dict[str, object] = {}
    for p in cmd.params:
        if p.name == "role":
            args["role"] = move.role
        elif p.name == "person":
            if move.person is not None:
                args["person"] = move.person
            else:  # an assignment: someone who does not hold the role yet (the page's form offers every account)
                team = engine.status(code).team.get(move.role or "", ())
                args["person"] = rng.choice([p for p in [*PEOPLE, "new1", "new2"] if p not in team])
        elif p.name == "phase":  # the due-date form offers the current phase and those to come
            args["phase"] = engine.status(code).phase
        elif p.name == "day":
            args["day"] = "2031-06-30"
        elif p.required:
            args[p.name] = REASON
    try:
        getattr(engine, cmd.name)(code, **args, actor=actor)
    except PhasegateError:
        return False
    return True


@pytest.mark.slow  # a seeded walk over a built-in model: 0.5-1 s a test (measured 2026-12-07)
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("template", TEMPLATES)
def test_a_move_is_offered_iff_the_engine_accepts_it(tmp_path: Path, template: str, seed: int) -> None:
    rng = random.Random(f"{template}-{seed}")
    with Engine(f"sqlite:///{tmp_path / 'walk.db'}") as engine:
        engine.init(admin="root")
        engine.grant("aud", "auditor", actor="root")
        for person in [*PEOPLE, "new1", "new2"]:  # accounts: a role goes only to a person with one
            engine.add_user(person, actor="root")
        engine.create_project("W-1", template=template, actor="root")
        status = engine.status("W-1")
        _info, definition, _src = engine.template(status.template, status.template_version)
        roles = definition.role_keys
        engine.assign("W-1", definition.lead, "lee", actor="root")
        for person in ("ann", "bob", "cy", "dis"):  # some hold several roles, some roles several people
            for role in rng.sample(roles, rng.randint(1, len(roles))):
                if role != definition.lead or rng.random() < 0.3:
                    engine.assign("W-1", role, person, actor="root")
        engine.disable_user("dis", actor="root")

        tried = offered_and_accepted = 0
        for step in range(STEPS):
            person = rng.choice(PEOPLE)
            try:
                _now, moves = engine.status_and_moves("W-1", reader=person)
            except PhasegateError:  # who may not read the project is offered nothing
                moves = frozenset()
            everything = candidates(engine, "W-1", status.template, status.template_version)
            pool = sorted(moves) if moves and rng.random() < 0.7 else everything
            move = rng.choice(pool)
            if move.command == "cancel" and rng.random() < 0.9:
                continue  # a cancellation ends the walk: rarely
            accepted = attempt(engine, "W-1", move, person, rng)
            assert accepted == (move in moves), (
                f"step {step}: {move} as {person} was {'accepted' if accepted else 'refused'} by the engine "
                f"but {'offered' if move in moves else 'not offered'}; offered: {sorted(moves)}"
            )
            tried += 1
            offered_and_accepted += accepted
        assert tried > STEPS // 2 and offered_and_accepted > 10  # the walk went somewhere
