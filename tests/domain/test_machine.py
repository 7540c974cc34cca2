"""The compiled state machines of the built-in templates, without any database."""

from __future__ import annotations

import pytest

from workflow.domain.gates import evaluate
from workflow.domain.templates.definition import Definition
from workflow.domain.templates.loader import builtin_paths, load_file
from workflow.domain.templates.machine import (
    CANCELLED,
    COMPLETED,
    ON_HOLD,
    Binding,
    compile_machine,
    fire,
    transition_table,
)
from workflow.errors import RuleRefused

MODELS = ["large-agency", "digital-agency", "team-based"]


def definition(key: str) -> Definition:
    return load_file(builtin_paths()[key])


@pytest.mark.parametrize("key", MODELS)
def test_machine_walks_the_happy_path_from_first_phase_to_completed(key: str) -> None:
    d = definition(key)
    machine = compile_machine(d)
    binding = Binding(d.phases[0].key)
    visited = [binding.state]
    while binding.state != COMPLETED:
        fire(machine, "advance", binding)
        visited.append(binding.state)
    assert visited == [*d.phase_keys, COMPLETED]


@pytest.mark.parametrize("key", MODELS)
def test_gate_refuses_until_every_task_is_done_and_every_approver_signed(key: str) -> None:
    d = definition(key)
    phase = d.phases[0]
    assert phase.gate is not None
    team = {r: [f"person-{r}"] for r in d.role_keys}
    tasks: dict[str, str] = {}
    approvals: dict[str, str] = {}

    def ready() -> bool:
        ev = evaluate(d, phase, tasks, approvals, team)
        if not ev.ready:
            raise RuleRefused("not ready", list(ev.blockers))
        return True

    machine = compile_machine(d)
    binding = Binding(phase.key, check_advance=ready)
    for role in phase.task_roles:
        with pytest.raises(RuleRefused):
            fire(machine, "advance", binding)
        tasks[role] = team[role][0]
    for role in phase.gate.approvers:
        with pytest.raises(RuleRefused) as refused:
            fire(machine, "advance", binding)
        assert any(d.role_title(role) in b and "approval" in b for b in refused.value.blockers)
        approvals[role] = team[role][0]
    assert fire(machine, "advance", binding) == d.phases[1].key


@pytest.mark.parametrize("key", MODELS)
def test_qa_rejection_goes_back_to_execution(key: str) -> None:
    d = definition(key)
    qa = d.phases[-1]
    assert qa.key == "production_review_qa" and qa.gate is not None
    binding = Binding(qa.key)
    assert fire(compile_machine(d), "reject", binding) == "execution"


@pytest.mark.parametrize("key", MODELS)
def test_there_is_no_trigger_that_jumps_to_a_phase(key: str) -> None:
    """auto_transitions=False: no to_<phase>() skips a gate."""
    machine = compile_machine(definition(key))
    assert set(machine.events) == {"advance", "reject", "hold", "resume", "cancel"}
    assert not any(name.startswith("to_") for name in machine.events)


def test_hold_resumes_into_the_phase_it_was_held_in() -> None:
    d = definition("large-agency")
    machine = compile_machine(d)
    binding = Binding("planning")
    assert fire(machine, "hold", binding) == ON_HOLD
    binding.held_phase = "planning"
    assert fire(machine, "resume", binding) == "planning"


def test_nothing_moves_a_cancelled_or_completed_project() -> None:
    machine = compile_machine(definition("team-based"))
    for state in (CANCELLED, COMPLETED):
        for trigger in ("advance", "reject", "hold", "resume", "cancel"):
            with pytest.raises(RuleRefused):
                fire(machine, trigger, Binding(state))


def test_a_held_project_cannot_advance_but_can_be_cancelled() -> None:
    machine = compile_machine(definition("team-based"))
    with pytest.raises(RuleRefused, match="on hold"):
        fire(machine, "advance", Binding(ON_HOLD, held_phase="client_kickoff"))
    assert fire(machine, "cancel", Binding(ON_HOLD)) == CANCELLED


def test_reject_is_refused_in_a_phase_without_a_gate() -> None:
    machine = compile_machine(definition("large-agency"))
    with pytest.raises(RuleRefused, match="no gate"):
        fire(machine, "reject", Binding("planning"))


def test_each_template_version_compiles_once() -> None:
    d = definition("digital-agency")
    assert compile_machine(d) is compile_machine(definition("digital-agency"))


def test_transition_table_lists_every_edge() -> None:
    d = definition("large-agency")
    edges = transition_table(compile_machine(d))
    assert ("production_review_qa", "advance", COMPLETED) in edges
    assert ("production_review_qa", "reject", "execution") in edges
    assert sum(1 for _, t, _ in edges if t == "advance") == len(d.phases)
    assert sum(1 for _, t, _ in edges if t == "resume") == len(d.phases)
