"""Who may sign for whom, as pure rules: delegations in force, four-eyes across a delegate and the
person they act for, and the separation of duties a gate's ``distinct_from`` asks."""

from __future__ import annotations

import re

import pytest
from support.duties import DUTIES_TEMPLATE

from workflow.domain.duties.delegations import Delegation, acting_for, away, refuse_new
from workflow.domain.duties.signing import Acting, Earlier, counted, people_of, refusal, ways_to_act
from workflow.domain.templates.loader import load_definition
from workflow.errors import RuleRefused, UsageError

# The staffing check's process, its QA gate kept apart from the SOW's task as well as its gate.
TEMPLATE = DUTIES_TEMPLATE.replace("distinct_from: [sow]", "distinct_from: [sow, sow.task.pm]")
DEFINITION = load_definition(TEMPLATE)
SOW_GATE, QA_GATE = DEFINITION.phases[0].gate, DEFINITION.phases[1].gate
assert SOW_GATE is not None and QA_GATE is not None
TEAM = {"pm": ("ana",), "tech": ("ben",), "qa": ("cy",)}
NOW = "2026-12-14T10:00:00.000000Z"


def delegation(person: str = "ben", to: str = "dee", *, roles: tuple[str, ...] = (), project: str | None = None,
               ended_at: str | None = None, starts_on: str = "2026-12-10", until: str = "2026-12-21") -> Delegation:
    return Delegation("d1", person, to, starts_on, until, roles, project, None, person, NOW, 1, ended_at)


def test_a_delegation_is_in_force_from_its_first_to_its_last_day_until_ended() -> None:
    d = delegation()
    assert d.in_force("2026-12-10T00:00:00.000000Z") and d.in_force("2026-12-21T23:59:59.999999Z")
    assert not d.in_force("2026-12-09T23:59:59.999999Z") and not d.in_force("2026-12-22T00:00:00.000000Z")
    ended = delegation(ended_at="2026-12-12T09:00:00.000000Z")
    assert ended.in_force("2026-12-12T08:59:59.000000Z") and not ended.in_force(NOW)


def test_a_delegate_acts_only_for_a_holder_of_the_role_on_the_project_and_roles_it_covers() -> None:
    assert acting_for([delegation()], "dee", "P1", "tech", NOW, TEAM) == [delegation()]
    assert acting_for([delegation()], "dee", "P1", "qa", NOW, TEAM) == []  # ben does not hold qa
    assert acting_for([delegation(roles=("pm",))], "dee", "P1", "tech", NOW, TEAM) == []
    assert acting_for([delegation(project="P2")], "dee", "P1", "tech", NOW, TEAM) == []
    assert away([delegation()], "ben", "P1", "tech", NOW) == delegation()


def test_one_who_holds_the_role_acts_as_themselves_and_a_gate_may_forbid_delegates() -> None:
    assert ways_to_act("ben", "tech", "P1", NOW, TEAM, [delegation()]) == [Acting("ben")]
    assert ways_to_act("dee", "tech", "P1", NOW, TEAM, [delegation()]) == [Acting("dee", "ben", delegation())]
    assert ways_to_act("dee", "tech", "P1", NOW, TEAM, [delegation()], delegable=False) == []


@pytest.mark.parametrize(("person", "to", "from_", "until", "refused"), [
    ("ben", "ben", "2026-12-14", "2026-12-20", "cannot delegate to themselves"),
    ("ben", "dee", "2026-12-20", "2026-12-14", "ends (2026-12-14) before it starts"),
    ("ben", "dee", "2026-12-14", "2027-03-14", "at most 90 days"),
    ("ben", "dee", "2026-11-01", "2026-11-20", "already past"),
])
def test_a_delegation_that_may_not_be_made_is_refused(person: str, to: str, from_: str, until: str,
                                                      refused: str) -> None:
    with pytest.raises((RuleRefused, UsageError), match=re.escape(refused)):
        refuse_new(person, to, from_, until, "2026-12-07", [])


def test_delegations_are_never_chained() -> None:
    existing = [delegation("ben", "dee")]
    with pytest.raises(RuleRefused, match="a delegate cannot hand that work on"):
        refuse_new("dee", "eve", "2026-12-15", "2026-12-16", "2026-12-07", existing)
    with pytest.raises(RuleRefused, match="someone away cannot take on"):
        refuse_new("ana", "ben", "2026-12-01", "2026-12-10", "2026-12-07", existing)
    refuse_new("dee", "eve", "2026-12-22", "2026-12-30", "2026-12-07", existing)  # after it: fine


def test_a_delegate_and_the_person_they_act_for_count_once() -> None:
    both = {"pm": frozenset({"dee", "ben"}), "tech": frozenset({"ben"})}
    assert counted(SOW_GATE, both) == 1
    two_for_one = {"pm": frozenset({"dee", "ana"}), "tech": frozenset({"dee", "ben"})}
    assert counted(SOW_GATE, two_for_one) == 1
    assert counted(SOW_GATE, {"pm": frozenset({"ana"}), "tech": frozenset({"dee", "ben"})}) == 2


def test_four_eyes_holds_through_a_delegation() -> None:
    signed_by_ben = {"pm": frozenset({"ben"})}
    assert refusal(DEFINITION, SOW_GATE, "tech", Acting("dee", "ben", delegation()), signed_by_ben, ())
    signed_for_ben = {"tech": frozenset({"dee", "ben"})}
    assert "four-eyes" in (refusal(DEFINITION, SOW_GATE, "pm", Acting("ben"), signed_for_ben, ()) or "")
    assert refusal(DEFINITION, SOW_GATE, "pm", Acting("ana"), signed_for_ben, ()) is None


def test_separation_of_duties_names_the_earlier_signature() -> None:
    earlier = [Earlier("sow.gate", "ana", None, 14), Earlier("sow.task.pm", "eve", "ana", 15)]
    said = refusal(DEFINITION, QA_GATE, "qa", Acting("ana"), {}, earlier)
    assert said is not None and said.startswith("ana signed 'SOW signed' (#14); 'QA sign-off' must be signed")
    by_delegate = refusal(DEFINITION, QA_GATE, "qa", Acting("eve"), {}, earlier)
    assert by_delegate is not None and "the task 'Write the SOW' (#15)" in by_delegate
    assert refusal(DEFINITION, QA_GATE, "qa", Acting("cy"), {}, earlier) is None
    assert people_of(earlier[1]) == {"eve", "ana"}


@pytest.mark.parametrize(("items", "said"), [
    ("[nope]", "names 'nope', which is not a phase of this template (phases: sow, build)"),
    ("[build]", "names its own gate"),
    ("[sow.task.qa]", "names the task of 'qa' in phase 'sow', which has no such task (its tasks: pm)"),
    ("[a.b.c.d]", "lists 'a.b.c.d'; write a phase key, PHASE.gate or PHASE.task.ROLE"),
    ("[sow, sow.gate]", "lists 'sow.gate' twice"),
])
def test_a_distinct_from_naming_nothing_is_refused_with_its_line(items: str, said: str) -> None:
    from workflow.errors import DefinitionError

    text = TEMPLATE.replace("distinct_from: [sow, sow.task.pm]", f"distinct_from: {items}")
    with pytest.raises(DefinitionError) as refused:
        load_definition(text, "duties.yaml")
    (problem,) = refused.value.problems
    assert problem.line == 17 and said in problem.message, problem  # the gate's line


def test_distinct_from_and_delegable_survive_the_compiled_definition() -> None:
    from workflow.domain.templates.definition import definition_from_dict, definition_to_dict

    assert QA_GATE.distinct_from == ("sow.gate", "sow.task.pm") and QA_GATE.delegable
    assert definition_from_dict(definition_to_dict(DEFINITION)) == DEFINITION
    assert "distinct_from" not in definition_to_dict(DEFINITION)["phases"][0]["gate"]  # unchanged when unused
