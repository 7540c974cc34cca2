"""Can every gate be signed? Each reason a gate cannot pass, and each fix the check suggests, as pure
functions over a template and a team (issue 26 part 3)."""

from __future__ import annotations

import pytest
from support.duties import DUTIES_TEMPLATE

from workflow.domain.duties.delegations import Delegation
from workflow.domain.duties.signing import Earlier
from workflow.domain.staffing.gates import Staffing, check_from_dict, check_gates
from workflow.domain.staffing.matching import maximum_matching
from workflow.domain.templates.loader import builtin_paths, load_definition, load_file

DIGITAL = load_file(builtin_paths()["digital-agency"])
NOW = "2026-12-14T10:00:00.000000Z"

DUTIES = load_definition(DUTIES_TEMPLATE)

QUORUM = load_definition("""
key: quorum
title: Quorum
lead: pm
roles:
  pm: {title: Producer}
  a: {title: Architect}
  b: {title: Designer}
  c: {title: Tester}
phases:
  - key: review
    title: Review
    gate: {title: Review sign-off, approvers: [a, b, c], required: 2}
  - key: relaxed
    title: Relaxed
    gate: {title: Relaxed sign-off, approvers: [a, b, c], distinct_people: false}
""")


def one(report, title):  # type: ignore[no-untyped-def]
    return next(g for g in report.gates if g.gate == title)


@pytest.mark.parametrize("key", ["large-agency", "digital-agency", "team-based"])
def test_a_team_with_one_person_per_role_can_pass_every_gate_of_each_built_in_model(key: str) -> None:
    definition = load_file(builtin_paths()[key])
    team = {role: (f"p{i}",) for i, role in enumerate(definition.role_keys)}
    report = check_gates(definition, Staffing(team))
    assert report.ok and report.gates and report.warnings == []
    assert all(g.sentence.endswith("can pass") for g in report.gates)


def test_one_person_holding_two_roles_of_a_four_eyes_gate_is_named_with_the_fix_the_issue_asks_for() -> None:
    team = {"integrated_producer": ("ana",), "tech_creative_leads": ("ivy",), "scrum_master": ("ivy",)}
    qa = one(check_gates(DIGITAL, Staffing(team)), "QA sign-off")
    assert not qa.can_pass
    assert qa.sentence == ("'QA sign-off' needs 2 distinct people for Tech & Creative Leads and Scrum Master; "
                           "only ivy holds both: assign another Scrum Master")
    assert [(f.role, f.person) for f in qa.fixes] == [("scrum_master", None)]


def test_the_fix_names_someone_already_on_the_team_who_would_do() -> None:
    team = {"integrated_producer": ("ana", "ben"), "tech_creative_leads": ("ivy",), "scrum_master": ("ivy",)}
    qa = one(check_gates(DIGITAL, Staffing(team)), "QA sign-off")
    assert qa.fixes[0].person == "ana"  # ben signs as producer, ana as Scrum Master
    assert qa.fixes[0].sentence == "assign another Scrum Master (such as ana)"


def test_a_role_nobody_holds_says_so_and_asks_for_someone() -> None:
    team = {"integrated_producer": ("ana",), "tech_creative_leads": ("ivy",)}
    kickoff = one(check_gates(DIGITAL, Staffing(team)), "Production kick-off sign-off")
    assert kickoff.reasons == ("'Production kick-off sign-off' needs the Scrum Master's approval and nobody "
                               "holds the Scrum Master role",)
    assert kickoff.fixes[0].sentence == "assign someone to the Scrum Master role"


def test_a_disabled_account_cannot_sign_and_enabling_it_is_offered_as_a_fix() -> None:
    team = {"integrated_producer": ("ana",), "tech_creative_leads": ("ivy",), "scrum_master": ("bob",)}
    kickoff = one(check_gates(DIGITAL, Staffing(team, frozenset({"bob"}))), "Production kick-off sign-off")
    assert "nobody can give it: bob's account is disabled" in kickoff.reasons[0]
    assert kickoff.fixes[0].sentence == "assign another Scrum Master, or enable bob's account"


def test_an_approval_already_given_counts_and_keeps_its_signer_off_the_other_roles() -> None:
    team = {"integrated_producer": ("ana",), "tech_creative_leads": ("ivy",), "scrum_master": ("ivy",)}
    given = {"scrum_master": frozenset({"ivy"})}
    report = check_gates(DIGITAL, Staffing(team), start="production_kickoff", approvals=given)
    kickoff = report.gates[0]
    assert "ivy already signed as the Scrum Master" in kickoff.reasons[0]
    assert kickoff.fixes[0].role == "tech_creative_leads"
    signed = {"integrated_producer": frozenset({"ana"}), "tech_creative_leads": frozenset({"ivy"}),
              "scrum_master": frozenset({"bob"})}
    assert check_gates(DIGITAL, Staffing(team), start="production_kickoff", approvals=signed).gates[0].can_pass


def test_a_quorum_needs_that_many_distinct_people_and_without_four_eyes_one_person_may_sign_all() -> None:
    report = check_gates(QUORUM, Staffing({"pm": ("ana",), "a": ("ivy",), "b": ("ivy",), "c": ("ivy",)}))
    review, relaxed = report.gates
    assert not review.can_pass and relaxed.can_pass
    assert review.reasons == ("'Review sign-off' needs 2 distinct people for Architect, Designer and Tester; "
                              "only ivy holds them",)
    assert len(review.fixes) == 1
    two_short = check_gates(QUORUM, Staffing({"pm": ("ana",)})).gates[0]
    assert len(two_short.fixes) == 2  # one more signer per missing signature
    assert not check_gates(QUORUM, Staffing({"pm": ("ana",), "a": ("ivy",)})).gates[1].can_pass


def test_someone_who_signed_a_gate_this_one_is_kept_apart_from_cannot_sign_it() -> None:
    team = {"pm": ("ana",), "tech": ("ben", "dee"), "qa": ("ana",)}
    earlier = [Earlier("sow.gate", "ana", None, 14), Earlier("sow.gate", "ben", None, 15)]
    report = check_gates(DUTIES, Staffing(team, earlier=earlier), start="build")
    qa = report.gates[0]
    assert qa.reasons == ("'QA sign-off' needs the QA Lead's approval and nobody can give it: ana signed "
                          "'SOW signed' (#14)",)
    assert qa.fixes[0].sentence == "assign another QA Lead"  # dee would leave nobody for Head of Technology
    assert check_gates(DUTIES, Staffing({**team, "qa": ("ana", "cy")}, earlier=earlier), start="build").ok


def test_work_still_to_come_that_a_gate_is_kept_apart_from_needs_other_people() -> None:
    """Nobody has signed 'SOW signed' yet; ben alone is Head of Technology, and both gates need one."""
    team = {"pm": ("ana",), "tech": ("ben",), "qa": ("cy",)}
    qa = one(check_gates(DUTIES, Staffing(team)), "QA sign-off")
    assert not qa.can_pass
    assert qa.reasons == ("'QA sign-off' must be signed by other people than 'SOW signed' (separation of "
                          "duties), and the team as staffed cannot do both",)
    assert qa.fixes[0].role == "tech"
    assert check_gates(DUTIES, Staffing({**team, "tech": ("ben", "dee")})).ok


def test_a_delegate_signs_for_a_disabled_holder_but_never_twice_under_four_eyes() -> None:
    team = {"integrated_producer": ("ana",), "tech_creative_leads": ("ivy",), "scrum_master": ("bob",)}
    away = Delegation("d1", "bob", "dee", "2026-12-10", "2026-12-21", (), None, None, "bob", NOW, 1)
    staffed = Staffing(team, frozenset({"bob"}), delegations=[away], code="P-1", at=NOW)
    assert check_gates(DIGITAL, staffed).ok  # dee signs as the Scrum Master on bob's behalf
    to_ivy = away._replace(to="ivy")
    kickoff = one(check_gates(DIGITAL, Staffing(team, frozenset({"bob"}), delegations=[to_ivy], code="P-1",
                                               at=NOW)), "Production kick-off sign-off")
    assert not kickoff.can_pass  # ivy signs for herself or for bob, not both
    expired = Staffing(team, frozenset({"bob"}), delegations=[away], code="P-1", at="2026-12-22T00:00:00Z")
    assert not check_gates(DIGITAL, expired).ok


def test_a_report_survives_its_json_shape() -> None:
    team = {"integrated_producer": ("ana",), "tech_creative_leads": ("ivy",), "scrum_master": ("ivy",)}
    report = check_gates(DIGITAL, Staffing(team), subject="P-1")
    assert check_from_dict(report.to_dict()) == report
    assert report.to_dict()["ok"] is False and report.subject == "P-1"


def test_the_matching_names_the_short_roles_and_the_people_next_to_them() -> None:
    found = maximum_matching(["a", "b", "c"], {"a": ["ivy"], "b": ["ivy"], "c": ["ana", "ivy"]})
    assert len(found.pairs) == 2 and found.free in (("a",), ("b",))
    assert set(found.short) == {"a", "b"} and found.near == ("ivy",)
