"""The compiled state machine of a template as a Mermaid or Graphviz DOT diagram.

Built from :func:`workflow.domain.machine.transition_table`, i.e. from the very machine the
Engine fires, so the picture cannot drift from the rules. transitions' own
``GraphMachine`` is deliberately not used: it keeps a graph per model (a leak for a
long-lived process) and its DOT output needs the ``graphviz`` package; both
formats here are plain text with no dependency. Output is deterministic: the
edges come in the machine's definition order.
"""

from __future__ import annotations

from typing import Any, Literal

from workflow.domain.definition import Definition
from workflow.domain.machine import CANCELLED, COMPLETED, ON_HOLD, transition_table

Format = Literal["mermaid", "dot"]
FORMATS: tuple[str, ...] = ("mermaid", "dot")

_STATUS_TITLES = {ON_HOLD: "On hold", COMPLETED: "Completed", CANCELLED: "Cancelled"}
_START = "__start__"


def render(definition: Definition, machine: Any, fmt: str = "mermaid") -> str:
    """The diagram text (ending with a newline) of ``machine``, compiled from ``definition``."""
    if fmt == "mermaid":
        return _mermaid(definition, machine)
    if fmt == "dot":
        return _dot(definition, machine)
    raise ValueError(f"unknown diagram format {fmt!r}; use one of: {', '.join(FORMATS)}")


def _states(definition: Definition) -> list[tuple[str, str]]:
    return [(p.key, p.title) for p in definition.phases] + list(_STATUS_TITLES.items())


def _label(definition: Definition, source: str, trigger: str) -> str:
    """The trigger, plus the gate's title where the gate decides the move."""
    phase = definition.phase(source)
    if phase is not None and phase.gate is not None and trigger in ("advance", "reject"):
        return f"{trigger} [{phase.gate.title}]"
    return trigger


def _mermaid_text(text: str) -> str:
    # Mermaid reads entity codes in labels; a raw quote would end a state's title early.
    return " ".join(text.replace("#", "#35;").replace('"', "#quot;").replace(";", "#59;").split())


def _mermaid(definition: Definition, machine: Any) -> str:
    lines = ["stateDiagram-v2", f"    %% {_mermaid_text(definition.key)}: {_mermaid_text(definition.title)}"]
    lines += [f'    state "{_mermaid_text(title)}" as {key}' for key, title in _states(definition)]
    lines.append(f"    [*] --> {definition.phases[0].key}")
    for source, trigger, dest in transition_table(machine):
        lines.append(f"    {source} --> {dest}: {_mermaid_text(_label(definition, source, trigger))}")
    lines += [f"    {COMPLETED} --> [*]", f"    {CANCELLED} --> [*]"]
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + " ".join(escaped.split()) + '"'


def _dot(definition: Definition, machine: Any) -> str:
    q = _dot_string
    lines = [
        f"digraph {q(definition.key)} {{",
        f"    label={q(definition.title)};",
        "    labelloc=t;",
        "    node [shape=box, style=rounded];",
        f"    {q(_START)} [shape=point, label=\"\"];",
    ]
    for key, title in _states(definition):
        extra = ", peripheries=2" if key in (COMPLETED, CANCELLED) else ""
        lines.append(f"    {q(key)} [label={q(title)}{extra}];")
    lines.append(f"    {q(_START)} -> {q(definition.phases[0].key)};")
    for source, trigger, dest in transition_table(machine):
        lines.append(f"    {q(source)} -> {q(dest)} [label={q(_label(definition, source, trigger))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
