"""`template diagram`: the compiled machine drawn as Mermaid or DOT, edge for edge."""

from __future__ import annotations

import json
import re

import pytest

from workflow.domain.templates.diagram import render
from workflow.domain.templates.loader import builtin_paths, load_definition, load_file
from workflow.domain.templates.machine import compile_machine, transition_table

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
    assert ("client_kickoff --> production_kickoff: advance [Client kick-off sign-off: "
            "all of Integrated Producer, Head of Technology, Project Manager]\n") in text
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
    assert r'[label="advance [The \"gate\": all of Lead]"];' in dot
    mermaid = render(definition, machine, "mermaid")
    state_line = next(line for line in mermaid.splitlines() if line.endswith(" as one"))
    assert state_line.count('"') == 2


def test_an_unknown_format_is_refused() -> None:
    definition, machine = _model("team-based")
    with pytest.raises(ValueError, match="mermaid"):
        render(definition, machine, "svg")


def _one_phase(title: str, gate: str = "The gate", required: str = "all") -> tuple[str, str]:
    """The Mermaid state line of a one-phase template titled ``title``, and its advance edge line."""
    source = (
        "key: hostile\n"
        "title: Hostile\n"
        "roles:\n"
        "  lead: {title: Lead}\n"
        "  qa: {title: Q&A <lead>}\n"
        "lead: lead\n"
        "phases:\n"
        "  - key: one\n"
        f"    title: {json.dumps(title)}\n"
        "    tasks: {lead: Do it}\n"
        f"    gate: {{title: {json.dumps(gate)}, approvers: [lead, qa], required: {required}}}\n"
    )
    definition = load_definition(source, "hostile.yaml")
    lines = render(definition, compile_machine(definition), "mermaid").splitlines()
    state = next(line for line in lines if line.endswith(" as one"))
    advance = next(line for line in lines if line.startswith("    one --> completed: "))
    return state, advance


@pytest.mark.parametrize(("title", "coded"), [
    ('Review "final"', "Review #quot;final#quot;"),
    ("#1", "#35;1"),
    ("<html>", "#lt;html#gt;"),
    ("a; b", "a#59; b"),
    ("&lt; & &#60;", "#amp;lt#59; & #amp;#35;60#59;"),
    ("*bold* _it_ \\", "#42;bold#42; #95;it#95; #92;"),
    ("%%{init: {}}%%", "#37;#37;{init: {}}#37;#37;"),
    ("Sign-off: QA", "Sign-off: QA"),
    ("Café ✓", "Café ✓"),
])
def test_mermaid_codes_each_special_character_once(title: str, coded: str) -> None:
    """Mermaid decodes ``#name;`` after parsing; coding a code's own ``#`` or ``;`` again would show it."""
    state, _advance = _one_phase(title)
    assert state == f'    state "{coded}" as one'


@pytest.mark.parametrize(("gate", "coded"), [
    ("ends:", "ends#58;"),
    ("a::b", "a#58;:b"),
    ("QA: final", "QA: final"),
])
def test_a_colon_that_would_end_an_edge_label_is_coded(gate: str, coded: str) -> None:
    """An edge label stops at ``::`` (mermaid's class separator) and may not end with ``:``."""
    _state, advance = _one_phase("One", gate=gate)
    assert advance == f"    one --> completed: advance [{coded}: all of Lead, Q#amp;A #lt;lead#gt;]"


@pytest.mark.parametrize(("required", "rule"), [("all", "all of"), ("any", "any of"), ("2", "2 of")])
def test_the_advance_label_names_the_gate_rule_and_its_approvers(required: str, rule: str) -> None:
    _state, advance = _one_phase("One", required=required)
    assert advance == f"    one --> completed: advance [The gate: {rule} Lead, Q#amp;A #lt;lead#gt;]"


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
@pytest.mark.parametrize("key", MODELS)
def test_without_lead_moves_only_the_happy_path_and_rejections_are_drawn(key: str, fmt: str) -> None:
    definition, machine = _model(key)
    full = render(definition, machine, fmt)
    text = render(definition, machine, fmt, lead_moves=False)
    assert render(definition, machine, fmt, lead_moves=True) == full
    for move in ("hold", "resume", "cancel", "on_hold", "cancelled", "On hold", "Cancelled"):
        assert move in full and move not in text, move
    kept = [(s, t, d) for s, t, d in transition_table(machine) if t in ("advance", "reject")]
    edge_lines = [line for line in text.splitlines() if "-->" in line or " -> " in line]
    if fmt == "mermaid":
        assert len(edge_lines) == len(kept) + 2  # and [*] --> the first phase, completed --> [*]
        assert edge_lines[-1] == "    completed --> [*]"
    else:
        assert len(edge_lines) == len(kept) + 1  # and the start point's edge
        assert '    "completed" [label="Completed", peripheries=2];' in text
