"""``Engine.check_project`` on a real database (both backends): every remaining gate of a project, read
from its team, its accounts, this round's approvals and its history; and the warnings a staffing change
answers with (issue 26 part 3)."""

from __future__ import annotations

import pytest
from support.duties import DUTIES_TEMPLATE

from workflow import Engine
from workflow.errors import NotFound, NotPermitted

TEMPLATE = DUTIES_TEMPLATE


def _digital(engine: Engine, team: dict[str, list[str]]) -> None:
    engine.init(admin="ana")
    engine.create_project("D-1", template="digital-agency", actor="ana", team=team)


def test_a_well_staffed_project_can_pass_every_gate(db_url: str) -> None:
    with Engine(db_url) as engine:
        _digital(engine, {"integrated_producer": ["ana"], "tech_creative_leads": ["ivy"], "scrum_master": ["sam"]})
        report = engine.check_project("D-1")
        assert report.ok and len(report.gates) == 4 and report.warnings == []


def test_one_person_in_two_roles_of_a_gate_is_found_before_work_starts(db_url: str) -> None:
    with Engine(db_url) as engine:
        _digital(engine, {"integrated_producer": ["ana"], "tech_creative_leads": ["ivy"], "scrum_master": ["ivy"]})
        report = engine.check_project("D-1", reader="ana")
        assert [g.gate for g in report.problems] == ["Production kick-off sign-off", "QA sign-off"]
        assert report.problems[1].sentence == (
            "'QA sign-off' needs 2 distinct people for Tech & Creative Leads and Scrum Master; only ivy holds "
            "both: assign another Scrum Master")
        engine.assign("D-1", "scrum_master", "sam", actor="ana")  # the fix it named
        assert engine.check_project("D-1").ok


def test_a_disabled_account_is_read_from_the_database(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        for person in ("ana", "ivy", "sam"):
            engine.add_user(person, actor="ana")
        engine.create_project("D-1", template="digital-agency", actor="ana",
                              team={"integrated_producer": ["ana"], "tech_creative_leads": ["ivy"],
                                    "scrum_master": ["sam"]})
        engine.disable_user("sam", actor="ana")
        problem = engine.check_project("D-1").problems[0]
        assert "sam's account is disabled" in problem.sentence and "enable sam's account" in problem.sentence
        engine.enable_user("sam", actor="ana")
        assert engine.check_project("D-1").ok


def test_only_the_remaining_gates_count_with_this_rounds_approvals(db_url: str) -> None:
    with Engine(db_url) as engine:
        _digital(engine, {"integrated_producer": ["ana"], "tech_creative_leads": ["ivy", "ben"],
                          "scrum_master": ["sam"]})
        for role, person in (("integrated_producer", "ana"), ("tech_creative_leads", "ivy")):
            engine.complete_task("D-1", role, actor=person)
            engine.approve("D-1", role, actor=person)
        engine.advance("D-1", actor="ana")
        assert engine.check_project("D-1").gates[0].phase == "production_kickoff"
        engine.approve("D-1", "scrum_master", actor="sam")
        engine.unassign("D-1", "tech_creative_leads", "ben", actor="ana")
        engine.assign("D-1", "scrum_master", "ivy", actor="ana")
        engine.unassign("D-1", "scrum_master", "sam", actor="ana")  # sam's approval goes with the role
        first = engine.check_project("D-1").gates[0]
        assert not first.can_pass and "only ivy holds both" in first.sentence


def test_a_closed_project_has_no_gate_left(db_url: str) -> None:
    with Engine(db_url) as engine:
        _digital(engine, {"integrated_producer": ["ana"]})
        engine.cancel("D-1", actor="ana", reason="lost the pitch")
        assert engine.check_project("D-1").gates == () and engine.check_project("D-1").ok


def test_an_earlier_signature_bars_its_signer_from_a_gate_kept_apart_from_it(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.publish_template(TEMPLATE, actor="ana")
        engine.create_project("S-1", template="duties", actor="ana",
                              team={"pm": ["ana"], "tech": ["ben", "dee"], "qa": ["cy"]})
        assert engine.check_project("S-1").ok  # ben or dee signs the SOW, the other QA
        engine.unassign("S-1", "tech", "dee", actor="ana")
        qa = engine.check_project("S-1").problems[0]
        assert "other people than 'SOW signed'" in qa.sentence and "assign another Head of Technology" in qa.sentence
        engine.assign("S-1", "tech", "dee", actor="ana")
        engine.complete_task("S-1", "pm", actor="ana")
        engine.approve("S-1", "pm", actor="ana")
        seq = engine.approve("S-1", "tech", actor="ben").seq
        engine.advance("S-1", actor="ana")
        engine.unassign("S-1", "tech", "dee", actor="ana")
        qa = engine.check_project("S-1").problems[0]
        assert f"ben signed 'SOW signed' (#{seq})" in qa.sentence


def test_the_check_is_for_the_projects_readers(db_url: str) -> None:
    with Engine(db_url) as engine:
        _digital(engine, {"integrated_producer": ["ana"]})
        with pytest.raises(NotPermitted):
            engine.check_project("D-1", reader="zed")
        with pytest.raises(NotFound):
            engine.check_project("NOPE-1", reader="ana")


def test_a_team_with_a_role_the_template_lacks_creates_nothing(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        with pytest.raises(NotFound, match="no role 'cook'"):
            engine.create_project("D-2", template="digital-agency", actor="ana", team={"cook": ["ana"]})
        with pytest.raises(NotFound):
            engine.status("D-2")


def test_a_retried_create_with_a_team_assigns_nobody_twice(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        team = {"integrated_producer": ["ana"], "scrum_master": ["sam"]}
        for _ in range(2):
            engine.create_project("D-3", template="digital-agency", actor="ana", team=team, request_id="r-1")
        assert [e.action for e in engine.history("D-3")] == ["create", "assign", "assign"]


def test_a_delegation_in_force_lets_a_delegate_sign_for_a_disabled_holder_but_not_twice(db_url: str) -> None:
    from datetime import date, timedelta

    today = date.today()
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        for person in ("ana", "ivy", "sam", "dee"):
            engine.add_user(person, actor="ana")
        engine.create_project("D-1", template="digital-agency", actor="ana",
                              team={"integrated_producer": ["ana"], "tech_creative_leads": ["ivy"],
                                    "scrum_master": ["sam"]})
        to_ivy = engine.delegate("sam", "ivy", today.isoformat(), (today + timedelta(days=5)).isoformat(),
                                 actor="ana", project="D-1")
        engine.disable_user("sam", actor="ana")
        assert not engine.check_project("D-1").ok  # ivy cannot sign for sam and for herself
        engine.end_delegation(to_ivy.id, actor="ana")
        engine.delegate("sam", "dee", today.isoformat(), (today + timedelta(days=5)).isoformat(), actor="ana",
                        project="D-1")
        assert engine.check_project("D-1").ok  # dee signs as the Scrum Master on sam's behalf
