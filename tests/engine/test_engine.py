"""The Engine's rules, as product.md states them, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from workflow import Engine
from workflow.errors import Conflict, NotFound, NotPermitted, PhasegateError, RuleRefused, UsageError
from workflow.storage.tables import approvals, events, projects, tasks

MODELS = ["large-agency", "digital-agency", "team-based"]
PEOPLE = {
    "integrated_producer": "ana",
    "head_of_technology": "ben",
    "project_manager": "cy",
    "tech_creative_leads": "dee",
    "scrum_master": "eli",
    "team": "fay",
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        yield e


def staffed(engine: Engine, code: str, model: str) -> dict[str, str]:
    """Create ``code`` on ``model`` with one distinct person per role; returns role -> person."""
    engine.create_project(code, template=model, actor="ana", name="Spring launch", client="Acme")
    _, definition, _ = engine.template(model)
    team = {role: PEOPLE[role] for role in definition.role_keys}
    for role, person in team.items():
        engine.assign(code, role, person, actor="ana")
    return team


def finish_phase(engine: Engine, code: str, team: dict[str, str]) -> None:
    status = engine.status(code)
    for task in status.tasks:
        if not task.done:
            engine.complete_task(code, task.role, actor=team[task.role])
    if status.gate:
        signed = {a.role for a in status.gate.approvals}
        for role in status.gate.approvers:
            if role not in signed:
                engine.approve(code, role, actor=team[role])


def event_count(engine: Engine) -> int:
    with engine.store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


# -- the life of a project ----------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_a_new_project_starts_active_in_round_one_of_the_first_phase(engine: Engine, model: str) -> None:
    staffed(engine, "P-1", model)
    status = engine.status("P-1")
    assert (status.phase, status.round, status.status) == ("client_kickoff", 1, "active")
    assert status.template == model and status.template_version == 1
    assert status.can_advance is False


@pytest.mark.parametrize("model", MODELS)
def test_each_builtin_model_walks_from_creation_to_completed(engine: Engine, model: str) -> None:
    team = staffed(engine, "WALK", model)
    _, definition, _ = engine.template(model)
    seen = []
    while engine.status("WALK").status == "active":
        seen.append(engine.status("WALK").phase)
        finish_phase(engine, "WALK", team)
        engine.advance("WALK", actor="ana")
    assert seen == list(definition.phase_keys)
    assert engine.status("WALK").status == "completed"
    assert engine.verify_audit().ok


@pytest.mark.parametrize("model", MODELS)
def test_advance_is_refused_until_tasks_are_done_and_the_gate_is_signed(engine: Engine, model: str) -> None:
    team = staffed(engine, "P-1", model)
    with pytest.raises(RuleRefused) as refused:
        engine.advance("P-1", actor="ana")
    assert "waiting for the Integrated Producer's task 'Client Kick-Off': ana" in refused.value.blockers
    assert "waiting for the Integrated Producer's approval: ana" in refused.value.blockers
    status = engine.status("P-1")
    for task in status.tasks:
        engine.complete_task("P-1", task.role, actor=team[task.role])
    with pytest.raises(RuleRefused, match="approval"):
        engine.advance("P-1", actor="ana")
    finish_phase(engine, "P-1", team)
    assert engine.status("P-1").can_advance
    assert engine.advance("P-1", actor="ana").data["to_phase"] == "production_kickoff"


def test_status_names_who_can_unblock_each_blocker(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    blockers = engine.status("P-1").blockers
    assert "waiting for the Head of Technology's approval: ben" in blockers
    assert "waiting for the Project Manager's task 'Client Kick-Off': cy" in blockers


def test_status_carries_the_contract_fields(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    engine.complete_task("P-1", "head_of_technology", actor="ben", note="notes in the wiki")
    engine.approve("P-1", "head_of_technology", actor="ben")
    d = engine.status("P-1").to_dict()
    for key in (
        "code",
        "template",
        "template_version",
        "phase",
        "round",
        "status",
        "can_advance",
        "blockers",
        "tasks",
        "gate",
        "team",
    ):
        assert key in d
    hot = next(t for t in d["tasks"] if t["role"] == "head_of_technology")
    assert hot["done"] is True and hot["by"] == "ben" and hot["task"] == "Client Kick-Off"
    assert d["gate"]["satisfied"] is False
    assert d["gate"]["missing"] == ["integrated_producer", "project_manager"]
    assert d["gate"]["approvals"][0]["person"] == "ben"
    assert d["team"]["head_of_technology"] == ["ben"]


# -- who may do what ----------------------------------------------------------------------


def test_only_a_holder_of_the_role_may_mark_its_task_done(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    with pytest.raises(NotPermitted, match="ben does not hold the Project Manager role"):
        engine.complete_task("P-1", "project_manager", actor="ben")


def test_a_role_without_a_task_in_the_phase_cannot_mark_one_done(engine: Engine) -> None:
    """The digital agency's Scrum Master has no Client Kick-Off task (an empty cell in the seed)."""
    staffed(engine, "P-1", "digital-agency")
    with pytest.raises(RuleRefused, match="Scrum Master has no task in Client Kick-Off"):
        engine.complete_task("P-1", "scrum_master", actor="eli")


def test_a_task_is_done_once_per_round(engine: Engine) -> None:
    staffed(engine, "P-1", "team-based")
    engine.complete_task("P-1", "team", actor="fay")
    with pytest.raises(RuleRefused, match="already done"):
        engine.complete_task("P-1", "team", actor="fay")


def test_only_approver_roles_sign_a_gate(engine: Engine) -> None:
    team = staffed(engine, "P-1", "large-agency")
    for _ in range(2):
        finish_phase(engine, "P-1", team)
        engine.advance("P-1", actor="ana")
    assert engine.status("P-1").phase == "sow_estimate"
    with pytest.raises(RuleRefused, match="does not sign 'SOW and estimate approval'"):
        engine.approve("P-1", "project_manager", actor="cy")


def test_four_eyes_one_persons_approval_counts_for_one_role_only(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    engine.assign("P-1", "project_manager", "ana", actor="ana")
    engine.approve("P-1", "integrated_producer", actor="ana")
    with pytest.raises(RuleRefused, match="four-eyes"):
        engine.approve("P-1", "project_manager", actor="ana")
    engine.approve("P-1", "project_manager", actor="cy")


def test_only_the_lead_advances_holds_resumes_and_cancels(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    for call in (
        lambda: engine.advance("P-1", actor="ben"),
        lambda: engine.hold("P-1", actor="ben", reason="x"),
        lambda: engine.cancel("P-1", actor="ben", reason="x"),
    ):
        with pytest.raises(NotPermitted, match="only the Integrated Producer"):
            call()
    engine.hold("P-1", actor="ana", reason="client on vacation")
    with pytest.raises(NotPermitted):
        engine.resume("P-1", actor="ben")


def test_admins_and_the_lead_assign_nobody_else(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    engine.assign("P-1", "project_manager", "gus", actor="ana")  # ana: admin and lead
    engine.grant("zed", "admin", actor="ana")
    engine.assign("P-1", "project_manager", "hal", actor="zed")  # an admin without a role
    with pytest.raises(NotPermitted):
        engine.assign("P-1", "project_manager", "ivy", actor="ben")
    with pytest.raises(NotPermitted):
        engine.unassign("P-1", "project_manager", "gus", actor="cy")


def test_auditors_read_everything_and_change_nothing(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    engine.grant("olga", "auditor", actor="ana")
    assert engine.status("P-1", reader="olga").code == "P-1"
    assert engine.history("P-1", reader="olga")
    assert engine.verify_audit(reader="olga").ok
    before = event_count(engine)
    for call in (
        lambda: engine.create_project("P-2", template="team-based", actor="olga"),
        lambda: engine.assign("P-1", "team", "olga", actor="olga"),
        lambda: engine.complete_task("P-1", "project_manager", actor="olga"),
        lambda: engine.approve("P-1", "project_manager", actor="olga"),
        lambda: engine.advance("P-1", actor="olga"),
        lambda: engine.grant("olga", "admin", actor="olga"),
    ):
        with pytest.raises((NotPermitted, NotFound)):
            call()
    assert event_count(engine) == before


def test_people_without_a_role_or_grant_cannot_read_a_project(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    with pytest.raises(NotPermitted, match="may not see project P-1"):
        engine.status("P-1", reader="mallory")
    with pytest.raises(NotPermitted):
        engine.history("P-1", reader="mallory")
    assert engine.list_projects(reader="mallory") == []
    assert [p.code for p in engine.list_projects(reader="ben")] == ["P-1"]


# -- rejection and rounds -----------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_rejecting_qa_sends_the_project_back_and_starts_a_new_round(engine: Engine, model: str) -> None:
    team = staffed(engine, "P-1", model)
    while engine.status("P-1").phase != "production_review_qa":
        finish_phase(engine, "P-1", team)
        engine.advance("P-1", actor="ana")
    qa_round_one = engine.status("P-1")
    for task in qa_round_one.tasks:
        engine.complete_task("P-1", task.role, actor=team[task.role])
    engine.approve("P-1", "integrated_producer", actor="ana")
    last_role = qa_round_one.gate.approvers[-1] if qa_round_one.gate else ""
    event = engine.reject("P-1", last_role, actor=team[last_role], reason="the checkout is broken")
    assert event.data["voided"]["approvals"][0]["role"] == "integrated_producer"
    status = engine.status("P-1")
    assert (status.phase, status.round) == ("execution", 2)
    assert not any(t.done for t in status.tasks)  # earlier rounds no longer count
    finish_phase(engine, "P-1", team)
    engine.advance("P-1", actor="ana")
    status = engine.status("P-1")
    assert (status.phase, status.round) == ("production_review_qa", 2)
    assert status.gate is not None and status.gate.approvals == []
    history = engine.history("P-1", action="approve", phase="production_review_qa")
    assert [e.data["round"] for e in history] == [1]  # the voided approval stays in history


def test_a_rejection_needs_a_reason(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    with pytest.raises(UsageError, match="reason"):
        engine.reject("P-1", "head_of_technology", actor="ben", reason="  ")


def test_reject_in_a_phase_without_a_gate_is_refused(engine: Engine) -> None:
    team = staffed(engine, "P-1", "team-based")
    for _ in range(3):
        finish_phase(engine, "P-1", team)
        engine.advance("P-1", actor="ana")
    with pytest.raises(RuleRefused, match="no gate"):
        engine.reject("P-1", "team", actor="fay", reason="no")


# -- hold, resume, cancel, completed ------------------------------------------------------


def test_nothing_moves_a_held_project_until_it_is_resumed(engine: Engine) -> None:
    team = staffed(engine, "P-1", "team-based")
    finish_phase(engine, "P-1", team)
    engine.hold("P-1", actor="ana", reason="budget review")
    assert engine.status("P-1").status == "on_hold"
    with pytest.raises(RuleRefused, match="on hold"):
        engine.advance("P-1", actor="ana")
    with pytest.raises(RuleRefused, match="on hold"):
        engine.complete_task("P-1", "team", actor="fay")
    engine.resume("P-1", actor="ana")
    assert engine.status("P-1").status == "active"
    assert engine.advance("P-1", actor="ana").data["to_phase"] == "production_kickoff"


def test_cancelled_and_completed_projects_never_move_again(engine: Engine) -> None:
    staffed(engine, "P-1", "team-based")
    engine.cancel("P-1", actor="ana", reason="client withdrew")
    for call in (
        lambda: engine.advance("P-1", actor="ana"),
        lambda: engine.resume("P-1", actor="ana"),
        lambda: engine.hold("P-1", actor="ana", reason="x"),
        lambda: engine.cancel("P-1", actor="ana", reason="x"),
        lambda: engine.complete_task("P-1", "team", actor="fay"),
    ):
        with pytest.raises(RuleRefused, match="cancelled"):
            call()


# -- gates other than "all" ---------------------------------------------------------------


CUSTOM = """\
key: small-studio
title: Small studio
roles:
  producer: {title: Producer}
  designer: {title: Designer}
  developer: {title: Developer}
lead: producer
phases:
  - key: review
    title: Review
    tasks:
      producer: Prepare review
    gate:
      title: Review sign-off
      approvers: [producer, designer, developer]
      required: {required}
      distinct_people: {distinct}
  - key: ship
    title: Ship
    tasks:
      developer: Ship it
"""


@pytest.mark.parametrize(("required", "needed"), [("any", 1), ("2", 2)])
def test_required_any_and_n_of_m_approvals(engine: Engine, required: str, needed: int) -> None:
    engine.publish_template(CUSTOM.replace("{required}", required).replace("{distinct}", "true"), actor="ana")
    engine.create_project("S-1", template="small-studio", actor="ana")
    for role, person in (("producer", "ana"), ("designer", "dan"), ("developer", "dev")):
        engine.assign("S-1", role, person, actor="ana")
    engine.complete_task("S-1", "producer", actor="ana")
    for i, (role, person) in enumerate((("designer", "dan"), ("developer", "dev"))):
        if i < needed:
            with pytest.raises(RuleRefused):
                engine.advance("S-1", actor="ana")
        engine.approve("S-1", role, actor=person)
    assert engine.advance("S-1", actor="ana").data["to_phase"] == "ship"


def test_without_distinct_people_one_person_may_sign_for_several_roles(engine: Engine) -> None:
    engine.publish_template(CUSTOM.replace("{required}", "all").replace("{distinct}", "false"), actor="ana")
    engine.create_project("S-1", template="small-studio", actor="ana")
    for role in ("producer", "designer", "developer"):
        engine.assign("S-1", role, "ana", actor="ana")
    engine.complete_task("S-1", "producer", actor="ana")
    for role in ("producer", "designer", "developer"):
        engine.approve("S-1", role, actor="ana")
    moved = engine.advance("S-1", actor="ana")
    assert moved.data["to_phase"] == "ship"
    assert engine.status("S-1").phase == "ship"


def test_without_distinct_people_the_blocker_counts_each_role_signed(engine: Engine) -> None:
    """With required: 3 and no four-eyes rule, one person's two approvals count twice: one more is needed."""
    engine.publish_template(CUSTOM.replace("{required}", "3").replace("{distinct}", "false"), actor="ana")
    engine.create_project("S-1", template="small-studio", actor="ana")
    for role, person in (("producer", "ana"), ("designer", "ana"), ("developer", "dev")):
        engine.assign("S-1", role, person, actor="ana")
    engine.complete_task("S-1", "producer", actor="ana")
    engine.approve("S-1", "producer", actor="ana")
    engine.approve("S-1", "designer", actor="ana")
    (blocker,) = engine.status("S-1").blockers
    assert blocker.startswith("waiting for 1 more approval of 'Review sign-off' from: Developer (dev)")


# -- templates, grants, errors ------------------------------------------------------------


def test_a_project_stays_on_the_template_version_it_was_created_on(engine: Engine) -> None:
    staffed(engine, "OLD", "team-based")
    _, _, text = engine.template("team-based")
    info, published = engine.publish_template(
        text.replace("title: Team}", "title: Delivery Team}"), actor="ana"
    )
    assert published and info.version == 2
    assert (
        engine.publish_template(text.replace("title: Team}", "title: Delivery Team}"), actor="ana")[1]
        is False
    )
    engine.create_project("NEW", template="team-based", actor="ana")
    assert engine.status("OLD").template_version == 1
    assert engine.status("NEW").template_version == 2


def test_unknown_project_role_and_template_are_not_found(engine: Engine) -> None:
    staffed(engine, "P-1", "team-based")
    with pytest.raises(NotFound):
        engine.status("NOPE")
    with pytest.raises(NotFound, match="no role"):
        engine.complete_task("P-1", "head_of_technology", actor="ana")
    with pytest.raises(NotFound):
        engine.create_project("P-2", template="no-such-template", actor="ana")


def test_a_project_code_is_used_once(engine: Engine) -> None:
    staffed(engine, "P-1", "team-based")
    with pytest.raises(Conflict, match="exists already"):
        engine.create_project("P-1", template="team-based", actor="ana")


def test_init_is_idempotent_and_refuses_a_second_first_admin(engine: Engine) -> None:
    assert engine.init(admin="ana")["admin_created"] is False
    with pytest.raises(NotPermitted, match="already has admins"):
        engine.init(admin="mallory")


def test_the_last_admin_cannot_be_revoked(engine: Engine) -> None:
    with pytest.raises(RuleRefused, match="last admin"):
        engine.revoke("ana", "admin", actor="ana")
    engine.grant("bob", "admin", actor="ana")
    engine.revoke("ana", "admin", actor="bob")
    assert engine.grants()["admin"] == ["bob"]


# -- one transaction, one event -----------------------------------------------------------


def test_every_change_appends_one_event_to_the_projects_chain(engine: Engine) -> None:
    team = staffed(engine, "P-1", "large-agency")
    finish_phase(engine, "P-1", team)
    engine.advance("P-1", actor="ana")
    history = engine.history("P-1")
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert history[0].action == "create" and history[0].prev_hash == "0" * 64
    for earlier, later in pairwise(history):
        assert later.prev_hash == earlier.hash
    approval = next(e for e in history if e.action == "approve")
    assert approval.data["authority"] == {
        "role": approval.data["role"],
        "assignment_seq": approval.data["authority"]["assignment_seq"],
    }
    assert approval.data["template"]["sha256"] and approval.data["meaning"].endswith("round 1")
    assert engine.status("P-1").seq == history[-1].seq


def test_a_refused_command_leaves_nothing_behind(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    before = event_count(engine)
    with engine.store.connect() as conn:
        rows_before = [
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (tasks, approvals)
        ]
        head_before = conn.execute(select(projects.c.seq, projects.c.head_hash)).one()
    for call in (
        lambda: engine.advance("P-1", actor="ana"),
        lambda: engine.complete_task("P-1", "project_manager", actor="ben"),
        lambda: engine.reject("P-1", "head_of_technology", actor="cy", reason="x"),
    ):
        with pytest.raises((RuleRefused, NotPermitted)):
            call()
    assert event_count(engine) == before
    with engine.store.connect() as conn:
        assert [
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (tasks, approvals)
        ] == rows_before
        assert conn.execute(select(projects.c.seq, projects.c.head_hash)).one() == head_before


def test_a_repeated_request_id_is_applied_once_and_answered_with_the_first_outcome(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    first = engine.complete_task("P-1", "head_of_technology", actor="ben", request_id="req-42")
    again = engine.complete_task("P-1", "head_of_technology", actor="ben", request_id="req-42")
    assert again == first
    with pytest.raises(Conflict, match="different command"):
        engine.complete_task("P-1", "project_manager", actor="cy", request_id="req-42")


def test_history_filters_by_time_actor_action_and_phase(engine: Engine) -> None:
    team = staffed(engine, "P-1", "large-agency")
    finish_phase(engine, "P-1", team)
    engine.advance("P-1", actor="ana")
    everything = engine.history("P-1")
    assert {e.actor for e in engine.history("P-1", actor="ben")} == {"ben"}
    assert {e.action for e in engine.history("P-1", action="approve")} == {"approve"}
    middle = everything[len(everything) // 2].at
    assert all(e.at >= middle for e in engine.history("P-1", since=middle))
    assert all(e.at <= middle for e in engine.history("P-1", until=middle))
    assert [e.seq for e in engine.history("P-1", last=3)] == [e.seq for e in everything[-3:]]
    with pytest.raises(UsageError, match="ISO 8601"):
        engine.history("P-1", since="yesterday")


def test_hostile_text_is_refused_with_a_sentence_or_stored_as_given(engine: Engine) -> None:
    staffed(engine, "P-1", "large-agency")
    for bad in ("evil\x1b[31m", "nul\x00byte", "x" * 5000):
        with pytest.raises(UsageError):
            engine.complete_task("P-1", "head_of_technology", actor="ben", note=bad)
    sql = "Robert'); DROP TABLE events;--"
    engine.complete_task("P-1", "head_of_technology", actor="ben", note=sql)
    assert engine.status("P-1").tasks[1].note == sql
    with pytest.raises(UsageError):
        engine.create_project("bad code!", template="team-based", actor="ana")


def test_an_outsider_gets_one_answer_for_a_real_and_a_made_up_code(engine: Engine) -> None:
    """Nobody can probe which project codes exist: 'not yours' and 'no such project' read alike."""
    staffed(engine, "REAL-1", "team-based")
    calls = {
        "status": lambda code: engine.status(code, reader="mallory"),
        "history": lambda code: engine.history(code, reader="mallory"),
        "report": lambda code: engine.report(code, reader="mallory"),
        "task done": lambda code: engine.complete_task(code, "team", actor="mallory"),
        "advance": lambda code: engine.advance(code, actor="mallory"),
        "assign": lambda code: engine.assign(code, "team", "mallory", actor="mallory"),
    }
    for name, call in calls.items():
        answers = []
        for code in ("REAL-1", "MADE-UP-1"):
            with pytest.raises(PhasegateError) as caught:
                call(code)
            answers.append((type(caught.value), caught.value.message.replace(code, "CODE")))
        assert answers[0] == answers[1], name
        assert "held by" not in answers[0][1] and "fay" not in answers[0][1], "no holder is named"


def test_a_code_in_the_wrong_case_is_answered_with_the_right_one(engine: Engine) -> None:
    staffed(engine, "ACME-1", "team-based")
    with pytest.raises(NotFound, match=r"did you mean ACME-1\?"):
        engine.status("acme-1", reader="ana")
    with pytest.raises(NotFound, match=r"did you mean ACME-1\?"):
        engine.advance("acme-1", actor="ana")
    with pytest.raises(NotPermitted, match="may not see project acme-1"):
        engine.status("acme-1", reader="mallory")  # no hint about a project mallory may not see
