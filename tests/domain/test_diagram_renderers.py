"""`template diagram` read by the real renderers: what mermaid and Graphviz draw is what the template says.

The diagrams go through mermaid's own parser and renderer (the npm package, in Node
with jsdom; see ``tests/mermaid/render.mjs``) and through Graphviz's ``dot -Tsvg``,
and the tests compare the text a reader sees in each box and on each edge with the
titles in the template, character for character: no ``#quot;`` left over, no
``<html>`` swallowed, no ``*emphasis*`` eaten, no backslash lost.

Mermaid needs ``node`` and ``npm ci --prefix tests/mermaid``, DOT needs Graphviz
(``apt-get install -y graphviz``); each is skipped when missing, unless
``PHASEGATE_REQUIRE_RENDERERS=1`` or ``CI=true`` turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from workflow.domain.templates.definition import Definition
from workflow.domain.templates.diagram import render
from workflow.domain.templates.loader import builtin_paths, load_definition, load_file
from workflow.domain.templates.machine import compile_machine, transition_table

MODELS = ("large-agency", "digital-agency", "team-based")
SCRIPT = Path(__file__).parents[1] / "mermaid" / "render.mjs"
STATUS_TITLES = {"on_hold": "On hold", "completed": "Completed", "cancelled": "Cancelled"}

HOSTILE = (
    'Review "final"',
    "#1 priority",
    "a; b ; c",
    "<html> & <b>bold</b> <script>alert(1)</script>",
    "&lt; is not &amp; < &#60; &",
    "Sign-off: QA",
    "ends with a colon:",
    "a::b and ::: c",
    "Café – 日本語 ✓ 😀",
    "*not bold* **nor** _nor italic_ a\\b c\\\\d",
    '%%{init: {"theme": "dark"}}%% 100% done',
    "#quot; typed #35; as is",
    'back\\slash \\n \\N \\l \\"',
)


def _modules_dir() -> Path:
    return Path(os.environ.get("PHASEGATE_MERMAID_DIR") or SCRIPT.parent)


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (apt-get install -y nodejs)"
    modules = _modules_dir() / "node_modules"
    if not (modules / "mermaid").is_dir() or not (modules / "jsdom").is_dir():
        return f"mermaid and jsdom are not installed in {modules} (npm ci --prefix tests/mermaid)"
    return None


def _skip_unless_installed(reason: str | None) -> None:
    if reason is None:
        return
    if os.environ.get("PHASEGATE_REQUIRE_RENDERERS") == "1" or os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PHASEGATE_REQUIRE_RENDERERS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def mermaid_view() -> Any:
    """A function: diagram texts -> what mermaid renders of each (one Node process per call)."""
    _skip_unless_installed(_missing())

    def view(texts: list[str]) -> list[dict[str, Any]]:
        done = subprocess.run(
            ["node", str(SCRIPT)], input=json.dumps(texts), capture_output=True, text=True,
            timeout=120, check=False,
        )
        assert done.returncode == 0, done.stderr
        results: list[dict[str, Any]] = json.loads(done.stdout)
        return results

    return view


def _expected_label(definition: Definition, source: str, trigger: str) -> str:
    """The edge text the diagram promises, spelled out from the template (not from diagram.py)."""
    phase = definition.phase(source)
    gate = phase.gate if phase is not None else None
    if gate is None or trigger not in ("advance", "reject"):
        return trigger
    if trigger == "reject":
        return f"reject [{gate.title}]"
    roles = ", ".join(definition.role_title(r) for r in gate.approvers)
    return f"advance [{gate.title}: {gate.required} of {roles}]"


def _expected(definition: Definition, lead_moves: bool) -> tuple[Counter[str], Counter[str]]:
    states = [p.title for p in definition.phases]
    states += [t for k, t in STATUS_TITLES.items() if lead_moves or k == "completed"]
    edges = [
        _expected_label(definition, source, trigger)
        for source, trigger, _dest in transition_table(compile_machine(definition))
        if lead_moves or trigger not in ("hold", "resume", "cancel")
    ]
    return Counter(states), Counter(edges)


def _hostile_definition() -> Definition:
    """One template whose every title (template, roles, phases, gates) is one of HOSTILE."""
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731 - a JSON string is a YAML scalar
    roles = [f"r{i}" for i in range(3)]
    lines = ["key: hostile", f"title: {q(HOSTILE[0])}", "roles:"]
    lines += [f"  {r}: {{title: {q(HOSTILE[-1 - i])}}}" for i, r in enumerate(roles)]
    lines += ["lead: r0", "phases:"]
    for i, title in enumerate(HOSTILE):
        required = ("all", "any", 2)[i % 3]
        lines += [
            f"  - key: p{i}",
            f"    title: {q(title)}",
            "    tasks: {r0: Do it}",
            f"    gate: {{title: {q(HOSTILE[(i + 1) % len(HOSTILE)])}, approvers: [r0, r1, r2], "
            f"required: {required}}}",
        ]
    return load_definition("\n".join(lines) + "\n", "hostile.yaml")


@pytest.mark.slow  # mermaid in Node.js with jsdom: 1.6-7 s a test (measured 2026-12-07)
@pytest.mark.parametrize("lead_moves", [True, False])
def test_mermaid_draws_every_built_in_template_with_its_titles(mermaid_view: Any, lead_moves: bool) -> None:
    definitions = [load_file(builtin_paths()[key]) for key in MODELS]
    texts = [render(d, compile_machine(d), "mermaid", lead_moves=lead_moves) for d in definitions]
    for definition, seen in zip(definitions, mermaid_view(texts), strict=True):
        assert seen["ok"], f"{definition.key}: {seen['error']}"
        states, edges = _expected(definition, lead_moves)
        assert Counter(seen["states"]) == states, definition.key
        assert Counter(seen["edges"]) == edges, definition.key


@pytest.mark.slow  # mermaid in Node.js with jsdom: 1.6-7 s a test (measured 2026-12-07)
@pytest.mark.parametrize("lead_moves", [True, False])
def test_mermaid_shows_hostile_titles_exactly_as_typed(mermaid_view: Any, lead_moves: bool) -> None:
    """Quotes, #, ;, HTML, &, colons, Markdown, directives and unicode come out as typed, once."""
    definition = _hostile_definition()
    text = render(definition, compile_machine(definition), "mermaid", lead_moves=lead_moves)
    (seen,) = mermaid_view([text])
    assert seen["ok"], seen["error"]
    states, edges = _expected(definition, lead_moves)
    assert Counter(seen["states"]) == states
    assert Counter(seen["edges"]) == edges


@pytest.mark.slow  # mermaid in Node.js with jsdom: 1.6-7 s a test (measured 2026-12-07)
def test_the_checker_itself_sees_a_broken_diagram(mermaid_view: Any) -> None:
    """The check is worth something only if a raw quote or semicolon does break mermaid."""
    raw_quote, raw_semicolon = mermaid_view([
        'stateDiagram-v2\n    state "Review "final"" as a\n',
        "stateDiagram-v2\n    a --> b: one; two\n",
    ])
    assert not raw_quote["ok"]
    assert raw_semicolon["ok"] and raw_semicolon["edges"] == ["one"]


@pytest.fixture(scope="module")
def dot_view() -> Any:
    """A function: DOT text -> (box texts, edge texts) as Graphviz draws them in SVG."""
    missing = None if shutil.which("dot") else "Graphviz is not installed (apt-get install -y graphviz)"
    _skip_unless_installed(missing)

    def view(text: str) -> tuple[Counter[str], Counter[str]]:
        done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0 and not done.stderr, done.stderr
        svg = "{http://www.w3.org/2000/svg}"
        groups = ET.fromstring(done.stdout).iter(f"{svg}g")
        texts: dict[str, list[str]] = {"node": [], "edge": []}
        for g in groups:
            if g.get("class") in texts:
                texts[g.get("class") or ""] += [t.text or "" for t in g.iter(f"{svg}text")]
        return Counter(texts["node"]), Counter(texts["edge"])

    return view


@pytest.mark.parametrize("lead_moves", [True, False])
def test_graphviz_draws_built_in_and_hostile_titles_exactly_as_typed(dot_view: Any, lead_moves: bool) -> None:
    """Quotes and backslashes (``\\n``, ``\\N``, ``\\l`` would be Graphviz escapes) come out as typed."""
    definitions = [load_file(builtin_paths()[key]) for key in MODELS] + [_hostile_definition()]
    for definition in definitions:
        seen = dot_view(render(definition, compile_machine(definition), "dot", lead_moves=lead_moves))
        assert seen == _expected(definition, lead_moves), definition.key
