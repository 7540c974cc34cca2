"""The compiled state machine of a template as a Mermaid or Graphviz DOT diagram.

Built from :func:`workflow.domain.templates.machine.transition_table`, i.e. from the very machine the
Engine fires, so the picture cannot drift from the rules. transitions' own
``GraphMachine`` is deliberately not used: it keeps a graph per model (a leak for a
long-lived process) and its DOT output needs the ``graphviz`` package; both
formats here are plain text with no dependency. Output is deterministic: the
edges come in the machine's definition order.
"""

from __future__ import annotations

import re
from typing import Any

from workflow.domain.templates.definition import Definition, Gate
from workflow.domain.templates.machine import CANCELLED, COMPLETED, ON_HOLD, transition_table

FORMATS: tuple[str, ...] = ("mermaid", "dot")

_STATUS_TITLES = {ON_HOLD: "On hold", COMPLETED: "Completed", CANCELLED: "Cancelled"}
_START = "__start__"
LEAD_MOVES = ("hold", "resume", "cancel")
"""The lead's moves around the happy path; ``lead_moves=False`` leaves them (and their states) out."""

# Mermaid decodes ``#name;`` / ``#123;`` entity codes only after it has parsed the line and
# run the label through its Markdown and HTML sanitiser, so a code is the one way to show
# a character those steps would eat: ``"`` ends a state's title, ``;`` ends a statement,
# ``%%{`` starts a directive, ``<b>`` is HTML, ``*``/``_`` emphasis and ``\\`` a Markdown
# escape. ``#`` itself is coded so a typed ``#quot;`` stays text. One pass (``str.translate``)
# so no replacement is escaped again.
_MERMAID_CODES = str.maketrans({
    "#": "#35;", '"': "#quot;", ";": "#59;", "%": "#37;", "<": "#lt;", ">": "#gt;",
    "*": "#42;", "_": "#95;", "\\": "#92;",
})
# ``&`` starts an HTML entity only before a name or ``#`` (``&lt;``, and ``&lt`` alone in
# HTML text): Mermaid and Graphviz both decode entities in labels. ``SOW & Estimate`` stays
# readable in the source.
_ENTITY_AMP = re.compile(r"&(?=[\w#])")
# A transition's label runs from its ``:`` to the end of the line, but stops at ``::`` (the
# ``:::`` class separator) and cannot end with ``:``; those colons, and only those, are coded.
_EDGE_COLON = re.compile(r":(?=:|$)")


def render(definition: Definition, machine: Any, fmt: str = "mermaid", *, lead_moves: bool = True) -> str:
    """The diagram text (ending with a newline) of ``machine``, compiled from ``definition``.

    ``lead_moves=False`` draws only the happy path and the gates' rejections: without
    hold, resume and cancel (and the on-hold and cancelled states) a seven-phase
    template is readable at a glance.
    """
    if fmt == "mermaid":
        return _mermaid(definition, machine, lead_moves)
    if fmt == "dot":
        return _dot(definition, machine, lead_moves)
    raise ValueError(f"unknown diagram format {fmt!r}; use one of: {', '.join(FORMATS)}")


def _states(definition: Definition, lead_moves: bool) -> list[tuple[str, str]]:
    statuses = [(k, t) for k, t in _STATUS_TITLES.items() if lead_moves or k == COMPLETED]
    return [(p.key, p.title) for p in definition.phases] + statuses


def _edges(machine: Any, lead_moves: bool) -> list[tuple[str, str, str]]:
    return [edge for edge in transition_table(machine) if lead_moves or edge[1] not in LEAD_MOVES]


def _ends(lead_moves: bool) -> list[str]:
    """The final states: a project ends completed or, when lead moves are drawn, cancelled."""
    return [COMPLETED, CANCELLED] if lead_moves else [COMPLETED]


def gate_rule(definition: Definition, gate: Gate) -> str:
    """Who opens the gate, in the words of the template: ``all of A, B``, ``any of …``, ``2 of …``."""
    count = gate.required if isinstance(gate.required, str) else str(gate.required)
    return f"{count} of {', '.join(definition.role_title(r) for r in gate.approvers)}"


def _label(definition: Definition, source: str, trigger: str) -> str:
    """The trigger, plus the gate where the gate decides the move (and, to advance, who signs it)."""
    phase = definition.phase(source)
    if phase is None or phase.gate is None:
        return trigger
    if trigger == "advance":
        return f"{trigger} [{phase.gate.title}: {gate_rule(definition, phase.gate)}]"
    if trigger == "reject":
        return f"{trigger} [{phase.gate.title}]"
    return trigger


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mermaid_text(text: str) -> str:
    """``text`` on one line, every character Mermaid would read as syntax written as its code."""
    return _ENTITY_AMP.sub("#amp;", _one_line(text).translate(_MERMAID_CODES))


def _mermaid_edge_label(text: str) -> str:
    return _EDGE_COLON.sub("#58;", _mermaid_text(text))


def _mermaid(definition: Definition, machine: Any, lead_moves: bool) -> str:
    lines = ["stateDiagram-v2", f"    %% {_mermaid_text(definition.key)}: {_mermaid_text(definition.title)}"]
    states = _states(definition, lead_moves)
    lines += [f'    state "{_mermaid_text(title)}" as {key}' for key, title in states]
    lines.append(f"    [*] --> {definition.phases[0].key}")
    for source, trigger, dest in _edges(machine, lead_moves):
        lines.append(f"    {source} --> {dest}: {_mermaid_edge_label(_label(definition, source, trigger))}")
    lines += [f"    {end} --> [*]" for end in _ends(lead_moves)]
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A DOT quoted string: ``"`` ends it, ``\\`` starts an escape (``\\n``, ``\\N``, ``\\l``) and
    Graphviz decodes HTML entities in labels (a typed ``&lt;`` would show as ``<``)."""
    escaped = _one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _ENTITY_AMP.sub("&amp;", escaped) + '"'


def _dot(definition: Definition, machine: Any, lead_moves: bool) -> str:
    q = _dot_string
    lines = [
        f"digraph {q(definition.key)} {{",
        f"    label={q(definition.title)};",
        "    labelloc=t;",
        "    node [shape=box, style=rounded];",
        f"    {q(_START)} [shape=point, label=\"\"];",
    ]
    ends = _ends(lead_moves)
    for key, title in _states(definition, lead_moves):
        extra = ", peripheries=2" if key in ends else ""
        lines.append(f"    {q(key)} [label={q(title)}{extra}];")
    lines.append(f"    {q(_START)} -> {q(definition.phases[0].key)};")
    for source, trigger, dest in _edges(machine, lead_moves):
        lines.append(f"    {q(source)} -> {q(dest)} [label={q(_label(definition, source, trigger))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
