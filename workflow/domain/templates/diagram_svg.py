"""A template's compiled machine drawn as an SVG, for the web page (no system binary, no script).

The phases stand in a column in their happy-path order, joined by the ``advance`` edges of
the compiled machine (each labelled with its gate and rule); a rejection is an arc on the
right from the gated phase back to its ``on_reject`` phase. The lead's moves (hold,
resume, cancel) exist from every phase and are left out, said in a note, so the picture
stays readable. Drawn from :func:`workflow.domain.templates.machine.transition_table`, so it cannot
drift from the rules. Presentation is by class (the stylesheet colours it, dark mode too);
every text a person typed is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from workflow.domain.templates.definition import Definition
from workflow.domain.templates.diagram import gate_rule
from workflow.domain.templates.machine import transition_table
from workflow.domain.vocabulary import COMPLETED

BOX_W, BOX_H, GAP, TOP, LEFT = 380, 54, 46, 20, 20
ARC_STEP = 22
MAX_CHARS = 52


def _short(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_svg(definition: Definition, machine: Any) -> str:
    """The SVG text for ``definition``'s compiled ``machine``."""
    keys = [p.key for p in definition.phases] + [COMPLETED]
    titles = {p.key: p.title for p in definition.phases} | {COMPLETED: "Completed"}
    y = {key: TOP + i * (BOX_H + GAP) for i, key in enumerate(keys)}
    edges = transition_table(machine)
    rejects = [(s, d) for s, t, d in edges if t == "reject"]
    width = LEFT + BOX_W + 40 + ARC_STEP * (len(rejects) + 1) + 120
    height = y[COMPLETED] + BOX_H + TOP + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="machine" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="machine-title">',
           f'<title id="machine-title">{escape(definition.title)}: its phases and gates</title>',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>']
    for s, t, d in edges:
        if t == "advance":
            out += _advance(definition, s, d, y)
    for i, (s, d) in enumerate(rejects):
        out += _reject(s, d, y, LEFT + BOX_W + 30 + ARC_STEP * i)
    for key in keys:
        out += _box(definition, key, titles[key], y[key])
    out.append(f'<text class="note" x="{LEFT}" y="{height - 8}">The lead may also hold, resume or cancel the '
               'project in any phase.</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _box(definition: Definition, key: str, title: str, top: int) -> list[str]:
    phase = definition.phase(key)
    kind = "end" if phase is None else "phase"
    lines = [f'<g class="{kind}"><title>{escape(title)}</title>',
             f'<rect x="{LEFT}" y="{top}" width="{BOX_W}" height="{BOX_H}" rx="8"/>',
             f'<text class="title" x="{LEFT + 14}" y="{top + 22}">{escape(_short(title))}</text>']
    if phase is not None:
        roles = ", ".join(definition.role_title(r) for r, _task in phase.tasks)
        lines.append(f'<text class="detail" x="{LEFT + 14}" y="{top + 42}">'
                     f'{escape(_short("tasks: " + (roles or "none"), 58))}</text>')
    lines.append("</g>")
    return lines


def _advance(definition: Definition, source: str, dest: str, y: dict[str, int]) -> list[str]:
    phase = definition.phase(source)
    x = LEFT + BOX_W / 2
    y0, y1 = y[source] + BOX_H, y[dest]
    label = "advance" if phase is None or phase.gate is None else (
        f"{phase.gate.title}: {gate_rule(definition, phase.gate)}")
    return [f'<g class="advance"><title>{escape(label)}</title>',
            f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1 - 2}" marker-end="url(#arrow)"/>',
            f'<text class="label" x="{x + 10}" y="{(y0 + y1) / 2 + 4}">'
            f'{escape(_short(label, 60))}</text></g>']


def _reject(source: str, dest: str, y: dict[str, int], x: float) -> list[str]:
    """An arc on the right: out of the gated phase, up to the phase a rejection restarts."""
    start, end = y[source] + BOX_H / 2 - 8, y[dest] + BOX_H / 2 + 8
    edge = LEFT + BOX_W
    path = f"M{edge},{start} H{x} V{end} H{edge + 2}"
    return ['<g class="reject"><title>reject: back to the start of a new round</title>',
            f'<path d="{path}" fill="none" marker-end="url(#arrow)"/>',
            f'<text class="label" x="{x + 6}" y="{(start + end) / 2 + 4}">reject</text></g>']
