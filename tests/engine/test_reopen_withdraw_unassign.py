"""Undo without rewriting history: withdraw, task reopen, and unassign voiding approvals.

Every undo is a new event that names what it voids; the rows it voids leave the state
(replay agrees), and a gate is never left that nobody can finish.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.cli_runs import Run, cli_session, must_succeed
from support.invariants import assert_consistent

from workflow import Engine
from workflow.errors import NotPermitted, RuleRefused


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        yield e


def ivy_and_jo(engine: Engine, code: str = "T-1") -> None:
    """The stuck team of the issue: ivy is the Integrated Producer and on the Team, with jo."""
    engine.create_project(code, template="team-based", actor="ana")
    engine.assign(code, "integrated_producer", "ivy", actor="ana")
    engine.assign(code, "team", "ivy", actor="ana")
    engine.assign(code, "team", "jo", actor="ana")


@pytest.mark.slow
def test_the_stuck_gate_of_the_issue_is_finished_through_the_cli(db_url: str, transport: str) -> None:
    """ivy signs as Team; the blocker names nobody who would be refused; ivy withdraws, and the
    project runs to completed with only the new commands and assignments (on the database, and
    through a server with ivy's and jo's tokens)."""
    with Engine(db_url) as e:
        e.init(admin="ana")
        ivy_and_jo(e)
    with cli_session(db_url, transport) as run:
        walk_the_stuck_gate(run)


def walk_the_stuck_gate(run: Run) -> None:
    ok = must_succeed(run)
    ok("task", "done", "T-1", "integrated_producer", actor="ivy")
    ok("task", "done", "T-1", "team", actor="jo")
    ok("approve", "T-1", "team", actor="ivy")
    blockers = run("--json", "project", "status", "T-1", actor="ivy")
    import json

    (blocker,) = json.loads(blockers.output)["blockers"]
    assert blocker == (
        "waiting for the Integrated Producer's approval: nobody can give it now: ivy already signed as "
        "Team; assign another Integrated Producer, or ivy withdraws the Team approval"
    )
    assert run("approve", "T-1", "integrated_producer", actor="ivy").exit_code == 1  # four eyes
    assert run("approve", "T-1", "team", actor="jo").exit_code == 1  # the Team has signed
    withdrawn = ok("--json", "withdraw", "T-1", "team", "--reason", "jo signs for the team", actor="ivy")
    voided = json.loads(withdrawn.output)["data"]["voided"]["approvals"]
    assert [(v["role"], v["person"]) for v in voided] == [("team", "ivy")]
    phases = 0
    while True:
        status = json.loads(ok("--json", "project", "status", "T-1", actor="ivy").output)
        if status["status"] == "completed":
            break
        for task in status["tasks"]:
            if not task["done"]:
                ok(
                    "task",
                    "done",
                    "T-1",
                    task["role"],
                    actor="ivy" if task["role"] == "integrated_producer" else "jo",
                )
        gate = status["gate"]
        if gate is not None:
            signed = {a["role"] for a in gate["approvals"]}
            if "team" not in signed:
                ok("approve", "T-1", "team", actor="jo")
            if "integrated_producer" not in signed:
                ok("approve", "T-1", "integrated_producer", actor="ivy")
        ok("advance", "T-1", actor="ivy")
        phases += 1
        assert phases <= 6
    assert phases == 6


def test_unassigning_the_signer_voids_their_approval_and_lets_the_others_sign(engine: Engine) -> None:
    ivy_and_jo(engine)
    signed = engine.approve("T-1", "team", actor="ivy")
    event = engine.unassign("T-1", "team", "ivy", actor="ana")
    assert event.data["voided"] == {"approvals": [{"role": "team", "person": "ivy", "seq": signed.seq}]}
    status = engine.status("T-1")
    assert status.gate is not None and status.gate.approvals == []
    engine.approve("T-1", "integrated_producer", actor="ivy")
    engine.approve("T-1", "team", actor="jo")
    assert engine.status("T-1").gate.satisfied  # type: ignore[union-attr]
    assert_consistent(engine)


def test_unassigning_someone_else_voids_nothing(engine: Engine) -> None:
    ivy_and_jo(engine)
    engine.approve("T-1", "team", actor="jo")
    event = engine.unassign("T-1", "team", "ivy", actor="ana")
    assert event.data["voided"] == {"approvals": []}
    assert [a.person for a in engine.status("T-1").gate.approvals] == ["jo"]  # type: ignore[union-attr]


def test_the_lead_role_is_never_left_without_a_holder_on_an_open_project(engine: Engine) -> None:
    ivy_and_jo(engine)
    with pytest.raises(
        RuleRefused, match="ivy is the only Integrated Producer of T-1; assign another one first"
    ):
        engine.unassign("T-1", "integrated_producer", "ivy", actor="ana")
    engine.hold("T-1", actor="ivy", reason="waiting for the client")
    with pytest.raises(RuleRefused, match="only Integrated Producer"):
        engine.unassign("T-1", "integrated_producer", "ivy", actor="ana")
    engine.resume("T-1", actor="ivy")
    engine.assign("T-1", "integrated_producer", "kai", actor="ana")
    engine.unassign("T-1", "integrated_producer", "ivy", actor="ana")
    assert engine.status("T-1").team["integrated_producer"] == ["kai"]


@pytest.mark.parametrize("close", ["cancel", "complete"])
def test_the_team_of_a_closed_project_is_frozen_both_ways(engine: Engine, close: str) -> None:
    ivy_and_jo(engine)
    if close == "cancel":
        engine.cancel("T-1", actor="ivy", reason="client withdrew")
    else:
        while engine.status("T-1").status == "active":
            status = engine.status("T-1")
            for task in status.tasks:
                if not task.done:
                    engine.complete_task("T-1", task.role, actor="jo" if task.role == "team" else "ivy")
            if status.gate is not None and not status.gate.satisfied:
                engine.approve("T-1", "integrated_producer", actor="ivy")
                engine.approve("T-1", "team", actor="jo")
            engine.advance("T-1", actor="ivy")
    state = "cancelled" if close == "cancel" else "completed"
    with pytest.raises(RuleRefused, match=f"is {state}; its team can no longer change"):
        engine.unassign("T-1", "team", "jo", actor="ana")
    with pytest.raises(RuleRefused, match=f"is {state}; its team can no longer change"):
        engine.assign("T-1", "team", "kai", actor="ana")


def test_only_the_signer_withdraws_and_only_while_the_gate_is_not_passed(engine: Engine) -> None:
    ivy_and_jo(engine)
    with pytest.raises(RuleRefused, match="nothing to withdraw"):
        engine.withdraw("T-1", "team", actor="jo")
    engine.approve("T-1", "team", actor="jo")
    with pytest.raises(NotPermitted, match="only jo, who approved 'Client kick-off sign-off' as the Team"):
        engine.withdraw("T-1", "team", actor="ivy")
    engine.approve("T-1", "integrated_producer", actor="ivy")
    engine.complete_task("T-1", "integrated_producer", actor="ivy")
    engine.complete_task("T-1", "team", actor="jo")
    engine.advance("T-1", actor="ivy")
    with pytest.raises(RuleRefused, match="nothing to withdraw"):  # the next round has no approvals yet
        engine.withdraw("T-1", "team", actor="jo")
    history = engine.history("T-1")
    assert history[-1].action == "advance", "a refused withdraw writes nothing"


def test_a_withdrawn_approval_can_be_given_again_and_the_history_keeps_both(engine: Engine) -> None:
    ivy_and_jo(engine)
    first = engine.approve("T-1", "team", actor="jo", comment="looks fine")
    undo = engine.withdraw("T-1", "team", actor="jo", reason="spotted a gap")
    assert undo.action == "withdraw" and undo.data["reason"] == "spotted a gap"
    assert undo.data["voided"]["approvals"] == [{"role": "team", "person": "jo", "seq": first.seq}]
    again = engine.approve("T-1", "team", actor="jo", comment="gap closed")
    assert [e.action for e in engine.history("T-1")][-3:] == ["approve", "withdraw", "approve"]
    (approval,) = engine.status("T-1").gate.approvals  # type: ignore[union-attr]
    assert (approval.person, approval.comment, approval.at) == ("jo", "gap closed", again.at)
    assert_consistent(engine)


def test_a_task_is_reopened_by_its_holder_or_the_lead_with_a_reason(engine: Engine) -> None:
    ivy_and_jo(engine)
    engine.assign("T-1", "team", "kai", actor="ana")
    engine.unassign("T-1", "team", "ivy", actor="ana")  # ivy is now only the lead
    done = engine.complete_task("T-1", "team", actor="jo", note="draft")
    reopened = engine.reopen_task("T-1", "team", actor="ivy", reason="the brief changed")
    assert reopened.data["voided"] == {"tasks": [{"role": "team", "person": "jo", "seq": done.seq}]}
    assert reopened.data["role"] == "integrated_producer", "recorded under the authority it used"
    assert not next(t for t in engine.status("T-1").tasks if t.role == "team").done
    engine.complete_task("T-1", "team", actor="kai")
    engine.reopen_task("T-1", "team", actor="jo", reason="kai's part is missing")  # another holder
    with pytest.raises(RuleRefused, match="nothing to reopen"):
        engine.reopen_task("T-1", "team", actor="jo", reason="again")
    with pytest.raises(NotPermitted):
        engine.reopen_task("T-1", "team", actor="mallory", reason="x")
    with pytest.raises(Exception, match="reason is required"):
        engine.reopen_task("T-1", "team", actor="jo", reason=" ")
    assert_consistent(engine)


def test_undo_commands_take_request_ids(engine: Engine) -> None:
    ivy_and_jo(engine)
    engine.approve("T-1", "team", actor="jo")
    first = engine.withdraw("T-1", "team", actor="jo", request_id="w-1")
    assert engine.withdraw("T-1", "team", actor="jo", request_id="w-1") == first
    engine.complete_task("T-1", "team", actor="jo")
    once = engine.reopen_task("T-1", "team", actor="jo", reason="r", request_id="r-1")
    assert engine.reopen_task("T-1", "team", actor="jo", reason="r", request_id="r-1") == once


def test_status_at_before_a_withdrawal_shows_the_approval(engine: Engine) -> None:
    ivy_and_jo(engine)
    signed = engine.approve("T-1", "team", actor="jo")
    engine.withdraw("T-1", "team", actor="jo")
    then = engine.status("T-1", at=signed.at)
    assert [a.person for a in then.gate.approvals] == ["jo"]  # type: ignore[union-attr]
    assert engine.status("T-1").gate.approvals == []  # type: ignore[union-attr]
