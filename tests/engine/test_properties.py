"""Any sequence of commands by anyone keeps phasegate's invariants (hypothesis).

Random commands — tasks, approvals, rejections, advances, holds, resumes, cancels, team
changes, with and without request ids — by random people: the admin, an auditor, the lead,
holders of the role, team members without it, outsiders. After each sequence:

- only holders acted: every event's actor held the role it acted in at that moment, per
  the history's own assign/unassign events (tests/support/invariants.py walks it);
- at most one advance per phase visit, and only with every task done and the gate satisfied;
- a refused command left nothing behind; the stored state equals the replay of history;
- every chain verifies, with the state check (`audit verify` replaying every chain) too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.invariants import assert_consistent, assert_history_obeys_the_rules, event_keys

from workflow import Engine
from workflow.errors import NotFound, NotPermitted, PhasegateError, RuleRefused

pytestmark = pytest.mark.slow  # hypothesis command sequences: ~7 s

MODELS = ["large-agency", "digital-agency", "team-based"]
ADMIN, AUDITOR, OUTSIDER = "root", "aud", "zed"
MEMBERS = ["ana", "ben", "cy", "dee"]
# "next" is whatever would move the project on now (an open task, a missing approval, advance).
KINDS = ["next"] * 12 + ["task"] * 3 + ["approve"] * 3 + ["advance"] * 3 + [
    "reject", "hold", "resume", "cancel", "assign", "unassign", "repeat"] + ["withdraw"] * 3 + ["reopen"] * 2
# Who acts: a holder of the role (most of the time, so the project moves), the lead, the admin,
# the auditor, a member without the role, an outsider.
WHO = ["holder"] * 6 + ["lead", "admin", "auditor", "member", "outsider"]

command = st.tuples(st.sampled_from(KINDS), st.integers(0, 5), st.sampled_from(WHO), st.integers(0, 3))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin=ADMIN)
        e.grant(AUDITOR, "auditor", actor=ADMIN)
        yield e


def actor_for(engine: Engine, code: str, role: str, who: str, pick: int) -> str:
    status = engine.status(code)
    holders = status.team.get(role, [])
    if who == "holder" and holders:
        return holders[pick % len(holders)]
    if who == "lead" and status.team.get(status.lead):
        return status.team[status.lead][pick % len(status.team[status.lead])]
    if who == "member":
        others = [p for people in status.team.values() for p in people if p not in holders]
        return others[pick % len(others)] if others else MEMBERS[pick]
    return {"admin": ADMIN, "auditor": AUDITOR, "outsider": OUTSIDER}.get(who, MEMBERS[pick])


def apply(engine: Engine, code: str, cmd: tuple[str, int, str, int], n: int) -> None:
    kind, r, who, pick = cmd
    status = engine.status(code)
    roles = list(status.team)
    role = roles[r % len(roles)]
    if kind in ("approve", "reject", "withdraw") and status.gate is not None and r < 4:
        role = status.gate.approvers[r % len(status.gate.approvers)]
    if kind == "next":
        open_tasks = [t.role for t in status.tasks if not t.done]
        missing = list(status.gate.missing) if status.gate is not None else []
        if open_tasks:
            kind, role = "task", open_tasks[r % len(open_tasks)]
        elif missing:
            kind, role = "approve", missing[r % len(missing)]
        else:
            kind = "advance"
        who = "holder"
    if kind in ("advance", "hold", "resume", "cancel"):
        role = status.lead
    person = actor_for(engine, code, role, who, pick)
    if kind == "withdraw" and who == "holder" and status.gate is not None:
        signers = {a.role: a.person for a in status.gate.approvals}
        if signers:  # the signer, mostly: a withdrawal by anyone else is only ever refused
            role = role if role in signers else sorted(signers)[r % len(signers)]
            person = signers[role]
    before = event_keys(engine)
    try:
        if kind == "assign":
            engine.assign(code, role, MEMBERS[pick], actor=person)
        elif kind == "unassign":
            engine.unassign(code, role, MEMBERS[pick], actor=person)
        elif kind == "task":
            engine.complete_task(code, role, actor=person, note=f"n{n}" if pick % 2 else None)
        elif kind == "approve":
            engine.approve(code, role, actor=person, comment="ok" if pick % 2 else None)
        elif kind == "withdraw":
            engine.withdraw(code, role, actor=person, reason="second thoughts" if pick % 2 else None)
        elif kind == "reopen":
            engine.reopen_task(code, role, actor=person, reason="redo")
        elif kind == "reject":
            engine.reject(code, role, actor=person, reason="not yet")
        elif kind == "advance":
            engine.advance(code, actor=person, request_id=f"{code}-adv-{n}")
        elif kind == "repeat":  # a retried advance: same request id as the previous command's
            engine.advance(code, actor=person, request_id=f"{code}-adv-{n - 1}")
        elif kind == "hold":
            engine.hold(code, actor=person, reason="pause")
        elif kind == "resume":
            engine.resume(code, actor=person)
        else:
            engine.cancel(code, actor=person, reason="stop")
    except (RuleRefused, NotPermitted, NotFound):
        assert event_keys(engine) == before, f"a refused {kind} left a trace"
    except PhasegateError as exc:  # e.g. a request id reused by another person: a conflict
        assert kind == "repeat", f"{kind} by {person}: {type(exc).__name__}: {exc}"
        assert event_keys(engine) == before


def test_any_command_sequence_by_anyone_keeps_the_invariants(engine: Engine, db_url: str) -> None:
    counter = iter(range(10**6))
    totals: dict[str, int] = {}

    @settings(max_examples=60 if db_url.startswith("sqlite") else 25, deadline=None, database=None)
    @given(model=st.sampled_from(MODELS), staff=st.permutations(range(4)).map(list) | st.lists(
               st.integers(0, 3), min_size=1, max_size=4),
           commands=st.lists(command, min_size=5, max_size=50))
    @example(model="digital-agency", staff=[0, 1, 2, 3], commands=[("next", 0, "holder", 0)] * 40)
    @example(model="team-based", staff=[0, 1], commands=[("next", 0, "holder", 0)] * 4
             + [("withdraw", 0, "holder", 0), ("reopen", 0, "holder", 0)])
    def check(model: str, staff: list[int], commands: list[tuple[str, int, str, int]]) -> None:
        code = f"H-{next(counter)}"
        engine.create_project(code, template=model, actor=ADMIN)
        for i, role in enumerate(engine.status(code).team):
            engine.assign(code, role, MEMBERS[staff[i % len(staff)]], actor=ADMIN)
        for n, cmd in enumerate(commands):
            apply(engine, code, cmd, n)
        for action, count in assert_history_obeys_the_rules(engine, code).items():
            totals[action] = totals.get(action, 0) + count
        assert_consistent(engine)

    check()
    for action in ("advance", "approve", "withdraw", "task.reopen"):
        assert totals.get(action, 0) > 0, f"the sequences never reached a {action}: {totals}"
