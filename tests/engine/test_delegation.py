"""Delegation on the record (issue 26): while a delegation is in force the delegate does the person's
tasks and signs their gates, the event naming both; four-eyes never breaks through a delegation; and a
gate's ``distinct_from`` keeps duties apart across gates. Both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from workflow import Engine
from workflow.domain.commands import Move
from workflow.errors import DutiesSeparated, NotPermitted, RuleRefused, UsageError

TEMPLATE = """\
key: duties
title: Duties kept apart
lead: producer
roles:
  producer: {title: Producer}
  tech: {title: Head of Technology}
  qa: {title: QA Lead}
phases:
  - key: sow
    title: SOW
    tasks: {producer: Write the SOW}
    gate: {title: SOW signed, approvers: [producer, tech]}
  - key: build
    title: Build
    tasks: {tech: Build it}
    gate: {title: QA sign-off, approvers: [qa], distinct_from: [sow]}
  - key: launch
    title: Launch
    gate: {title: Go live, approvers: [producer, qa], delegable: false}
"""


def day(offset: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


@pytest.fixture
def e(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as engine:
        engine.init("ana")
        engine.publish_template(TEMPLATE, actor="ana")
        engine.create_project("P-1", template="duties", actor="ana")
        for role, person in (("producer", "ana"), ("tech", "ben"), ("qa", "cy")):
            engine.assign("P-1", role, person, actor="ana")
        yield engine


def test_a_delegate_signs_for_the_person_away_and_the_event_names_both(e: Engine) -> None:
    made = e.delegate("ben", "dee", day(-1), day(13), actor="ben", reason="holiday")
    e.complete_task("P-1", "producer", actor="ana")
    status = e.status("P-1", reader="ana")
    assert any(f"ben (away; delegated to dee until {day(13)})" in b for b in status.blockers), status.blockers
    event = e.approve("P-1", "tech", actor="dee")
    assert event.actor == "dee"
    assert event.data["on_behalf_of"] == "ben" and event.data["delegation"] == made.id
    assert event.data["authority"]["assignment_seq"] is not None  # ben's assignment
    e.approve("P-1", "producer", actor="ana")
    e.advance("P-1", actor="ana")
    assert e.verify_audit(reader="ana").ok


def test_self_delegation_is_refused(e: Engine) -> None:
    with pytest.raises(RuleRefused, match="cannot delegate to themselves"):
        e.delegate("ben", "ben", day(), day(3), actor="ben")


def test_only_the_person_or_an_admin_delegates_and_never_longer_than_the_limit(e: Engine) -> None:
    with pytest.raises(NotPermitted, match="only ben or an admin"):
        e.delegate("ben", "dee", day(), day(3), actor="cy")
    e.delegate("ben", "dee", day(), day(3), actor="ana")  # ana is an admin
    with pytest.raises(UsageError, match="at most 90 days"):
        e.delegate("cy", "eve", day(), day(90), actor="cy")


def test_a_delegate_cannot_sign_for_someone_where_they_signed_another_role(e: Engine) -> None:
    """dee holds the Producer role herself and signed as it; ben delegated to her: she cannot also sign
    as the Head of Technology for him."""
    e.assign("P-1", "producer", "dee", actor="ana")
    e.delegate("ben", "dee", day(), day(5), actor="ben")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "producer", actor="dee")
    with pytest.raises(RuleRefused, match="four-eyes rule: dee already approved 'SOW signed' as the Producer"):
        e.approve("P-1", "tech", actor="dee")


def test_the_delegator_cannot_sign_after_their_delegate_signed_for_them(e: Engine) -> None:
    """ben holds both SOW roles; dee signs one for him; ben signing the other is the same person."""
    e.assign("P-1", "producer", "ben", actor="ana")
    e.delegate("ben", "dee", day(), day(5), actor="ben", roles="tech")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "tech", actor="dee")
    with pytest.raises(RuleRefused, match=r"four-eyes rule: dee \(for ben\) already approved"):
        e.approve("P-1", "producer", actor="ben")
    e.approve("P-1", "producer", actor="ana")
    assert not e.status("P-1", reader="ana").blockers


def test_two_people_delegating_to_one_delegate_count_once(e: Engine) -> None:
    e.delegate("ana", "dee", day(), day(5), actor="ana", roles="producer")
    e.delegate("ben", "dee", day(), day(5), actor="ben", roles="tech")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "producer", actor="dee")
    with pytest.raises(RuleRefused, match="four-eyes rule"):
        e.approve("P-1", "tech", actor="dee")
    e.approve("P-1", "tech", actor="ben")  # ben himself still may: he is another person than ana


def test_a_delegation_that_ends_mid_round_keeps_given_signatures_and_refuses_new_ones(e: Engine) -> None:
    made = e.delegate("ben", "dee", day(), day(5), actor="ben")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "tech", actor="dee")
    e.end_delegation(made.id, actor="ben")
    e.approve("P-1", "producer", actor="ana")
    e.advance("P-1", actor="ana")  # the signature given while it was in force stands
    with pytest.raises(NotPermitted, match="dee may not see project P-1"):  # not on the team any more
        e.complete_task("P-1", "tech", actor="dee")
    e.complete_task("P-1", "tech", actor="ben")
    assert e.verify_audit(reader="ana").ok


def test_the_person_a_delegate_signed_for_may_withdraw_that_signature(e: Engine) -> None:
    made = e.delegate("ben", "dee", day(), day(5), actor="ben")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "tech", actor="dee")
    e.end_delegation(made.id, actor="dee")
    event = e.withdraw("P-1", "tech", actor="ben")
    assert event.data["voided"]["approvals"][0]["person"] == "dee"
    with pytest.raises(NotPermitted):
        e.withdraw("P-1", "producer", actor="cy")


def test_a_gate_that_is_not_delegable_refuses_a_delegate(e: Engine) -> None:
    e.delegate("cy", "dee", day(), day(5), actor="cy")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "producer", actor="ana")
    e.approve("P-1", "tech", actor="ben")
    e.advance("P-1", actor="ana")
    e.complete_task("P-1", "tech", actor="ben")
    e.approve("P-1", "qa", actor="dee")  # Build's gate is delegable
    e.advance("P-1", actor="ana")
    with pytest.raises(NotPermitted, match="not delegable"):
        e.approve("P-1", "qa", actor="dee")


def test_separation_of_duties_names_the_earlier_signature(e: Engine) -> None:
    """ben signed the SOW; QA sign-off's distinct_from names it: ben may not sign QA as anyone."""
    e.assign("P-1", "qa", "ben", actor="ana")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "producer", actor="ana")
    signed = e.approve("P-1", "tech", actor="ben")
    e.advance("P-1", actor="ana")
    e.complete_task("P-1", "tech", actor="ben")
    with pytest.raises(DutiesSeparated, match=rf"ben signed 'SOW signed' \(#{signed.seq}\); 'QA sign-off' "
                                              "must be signed by someone else"):
        e.approve("P-1", "qa", actor="ben")
    status = e.status("P-1", reader="ana")
    assert any(b.startswith("waiting for the QA Lead's approval: cy") for b in status.blockers), status.blockers
    e.unassign("P-1", "qa", "cy", actor="ana")
    status = e.status("P-1", reader="ana")
    assert any("ben may not sign it" in b for b in status.blockers), status.blockers


def test_a_delegate_for_someone_who_signed_a_named_gate_is_kept_apart_too(e: Engine) -> None:
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "producer", actor="ana")
    e.approve("P-1", "tech", actor="ben")
    e.advance("P-1", actor="ana")
    e.assign("P-1", "qa", "ben", actor="ana")
    e.unassign("P-1", "qa", "cy", actor="ana")
    e.delegate("ben", "eve", day(), day(5), actor="ben")  # eve acts for ben, who signed the SOW
    e.complete_task("P-1", "tech", actor="eve")
    with pytest.raises(DutiesSeparated, match="ben signed 'SOW signed'"):
        e.approve("P-1", "qa", actor="eve")


def test_a_delegate_sees_the_project_and_is_offered_only_what_the_delegation_allows(e: Engine) -> None:
    with pytest.raises(NotPermitted):
        e.status("P-1", reader="dee")
    e.delegate("ben", "dee", day(), day(3), actor="ben")
    e.complete_task("P-1", "producer", actor="ana")
    _status, moves = e.status_and_moves("P-1", reader="dee")
    assert Move("approve", "tech") in moves
    assert Move("approve", "producer") not in moves and Move("reject", "tech") not in moves
    assert e.status("P-1", reader="dee").code == "P-1"


def test_a_delegate_reads_what_they_sign_on_the_persons_projects_as_the_team_does(e: Engine) -> None:
    # the deliverables they approve, the staffing check, the outside signers: every read of a project
    # asks the same question (engine/visibility.readable_project), a delegate in force included
    e.delegate("ben", "dee", day(), day(3), actor="ben")
    assert e.deliverables("P-1", reader="dee") == e.deliverables("P-1", reader="ben")
    assert e.check_project("P-1", reader="dee").to_dict() == e.check_project("P-1", reader="ben").to_dict()
    assert e.invitations("P-1", reader="dee") == []
    assert e.history("P-1", reader="dee") == e.history("P-1", reader="ben")
    for read in (e.deliverables, e.history, e.check_project):
        with pytest.raises(NotPermitted):
            read("P-1", reader="eve")


def test_unassigning_the_person_voids_the_approval_their_delegate_gave_for_them(e: Engine) -> None:
    e.delegate("ben", "dee", day(), day(3), actor="ben")
    e.complete_task("P-1", "producer", actor="ana")
    e.approve("P-1", "tech", actor="dee")
    e.assign("P-1", "tech", "eve", actor="ana")
    event = e.unassign("P-1", "tech", "ben", actor="ana")
    assert event.data["voided"]["approvals"] == [{"role": "tech", "person": "dee", "seq": event.seq - 2}]
    assert e.verify_audit(reader="ana").ok
