"""`template diagram`: the compiled machine drawn as Mermaid or DOT, edge for edge."""

from __future__ import annotations

import re

import pytest

from workflow.domain.diagram import render
from workflow.domain.loader import builtin_paths, load_definition, load_file
from workflow.domain.machine import compile_machine, transition_table

MODELS = ("large-agency", "digital-agency", "team-based")


def _model(key: str):  # type: ignore[no-untyped-def]
    definition = load_file(builtin_paths()[key])
    return definition, compile_machine(definition)


def test_mermaid_names_all_seven_phases_of_large_agency_with_their_titles() -> None:
    definition, machine = _model("large-agency")
    text = render(definition, machine, "mermaid")
    assert text.startswith("stateDiagram-v2\n")
    assert len(definition.phases) == 7
    for phase in definition.phases:
        assert f'state "{phase.title}" as {phase.key}' in text
    assert "[*] --> client_kickoff" in text
    assert "completed --> [*]" in text


@pytest.mark.parametrize("key", MODELS)
def test_mermaid_draws_every_edge_of_the_transition_table(key: str) -> None:
    definition, machine = _model(key)
    lines = render(definition, machine, "mermaid").splitlines()
    for source, trigger, dest in transition_table(machine):
        prefix = f"    {source} --> {dest}: {trigger}"
        assert any(line == prefix or line.startswith(prefix + " [") for line in lines), prefix


def test_advance_and_reject_out_of_a_gated_phase_carry_the_gate_title() -> None:
    definition, machine = _model("large-agency")
    text = render(definition, machine, "mermaid")
    assert "client_kickoff --> production_kickoff: advance [Client kick-off sign-off]" in text
    assert "production_review_qa --> execution: reject [QA sign-off]" in text
    assert "planning --> partners: advance\n" in text  # no gate, no brackets
    assert "on_hold --> client_kickoff: resume" in text
    assert "on_hold --> cancelled: cancel" in text


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
@pytest.mark.parametrize("key", MODELS)
def test_no_auto_transition_to_a_phase_is_drawn(key: str, fmt: str) -> None:
    """`auto_transitions=False`: no `to_<phase>` trigger may appear, it would skip every gate."""
    definition, machine = _model(key)
    assert "to_" not in render(definition, machine, fmt).replace("production_", "").replace("auto_", "")
    assert not any(trigger.startswith("to_") for _, trigger, _ in transition_table(machine))


@pytest.mark.parametrize("key", MODELS)
def test_dot_is_a_digraph_with_balanced_braces_and_one_line_per_edge(key: str) -> None:
    definition, machine = _model(key)
    text = render(definition, machine, "dot")
    lines = text.splitlines()
    assert lines[0] == f'digraph "{key}" {{'
    assert lines[-1] == "}"
    assert text.count("{") == text.count("}") == 1
    edge_lines = [line for line in lines if " -> " in line and '"__start__"' not in line]
    table = transition_table(machine)
    assert len(edge_lines) == len(table)
    for (source, trigger, dest), line in zip(table, edge_lines, strict=True):
        pattern = rf'    "{source}" -> "{dest}" \[label="{re.escape(trigger)}( \[[^"]*\])?"\];'
        assert re.fullmatch(pattern, line), line
    for phase in definition.phases:
        assert f'"{phase.key}" [label="{phase.title}"];' in text


def test_output_is_deterministic() -> None:
    definition, machine = _model("digital-agency")
    for fmt in ("mermaid", "dot"):
        assert render(definition, machine, fmt) == render(definition, compile_machine(definition), fmt)


def test_quotes_and_backslashes_in_titles_are_escaped() -> None:
    source = (
        'key: quoted\n'
        'title: A "quoted" \\ template\n'
        'roles:\n'
        '  lead: {title: Lead}\n'
        'lead: lead\n'
        'phases:\n'
        '  - key: one\n'
        '    title: Say "hi" \\ wave;#1\n'
        '    tasks: {lead: Do it}\n'
        '    gate: {title: The "gate", approvers: [lead]}\n'
    )
    definition = load_definition(source, "quoted.yaml")
    machine = compile_machine(definition)
    dot = render(definition, machine, "dot")
    assert r'"one" [label="Say \"hi\" \\ wave;#1"];' in dot
    assert r'[label="advance [The \"gate\"]"];' in dot
    mermaid = render(definition, machine, "mermaid")
    state_line = next(line for line in mermaid.splitlines() if line.endswith(" as one"))
    assert state_line.count('"') == 2


def test_an_unknown_format_is_refused() -> None:
    definition, machine = _model("team-based")
    with pytest.raises(ValueError, match="mermaid"):
        render(definition, machine, "svg")
