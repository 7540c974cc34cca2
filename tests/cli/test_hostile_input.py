"""Hostile text in every CLI argument: stored as given where valid, refused with a sentence
(exit 2, or 3 for an unknown role) where not, never a traceback, and nothing printed carries
a terminal escape or any other control character.

Very long strings (100k characters), NUL bytes, terminal escape sequences and SQL-looking
strings go through click's CliRunner; invalid UTF-8 goes through a real process's argv
(bytes), as a shell would pass it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import workflow
from workflow import Engine
from workflow.cli import cli

SQL = "'; DROP TABLE events; --"
HOSTILE = {
    "sql": SQL,
    "long": "A" * 100_000,
    "nul": "a\x00b",
    "clear-screen": "\x1b[2J",
    "set-title": "\x1b]0;pwn\x07",
    "c1-csi": "x\x9b31mred",
}

# slot -> (arguments for a value v on a fresh project P, kind); {P} is the project's code.
Slot = Callable[[str], list[str]]
SLOTS: dict[str, tuple[Slot, str]] = {
    "code": (lambda v: ["project", "status", v], "code"),
    "role": (lambda v: ["task", "done", "{P}", v], "role"),
    "as": (lambda v: ["--as", v, "project", "status", "{P}"], "actor"),
    "person": (lambda v: ["project", "assign", "{P}", "team", v], "name"),
    "note": (lambda v: ["--as", "tom", "task", "done", "{P}", "team", "--note", v], "text"),
    "comment": (lambda v: ["--as", "tom", "approve", "{P}", "team", "--comment", v], "text"),
    "reason": (lambda v: ["hold", "{P}", "--reason", v], "text"),
    "name": (lambda v: ["project", "create", "{P}-new", "--template", "team-based", "--name", v], "text"),
    "client": (lambda v: ["project", "create", "{P}-new", "--template", "team-based", "--client", v], "text"),
    "template": (lambda v: ["template", "publish", v], "path"),
    "validate": (lambda v: ["template", "validate", v], "path"),
    "since": (lambda v: ["history", "{P}", "--since", v], "since"),
    "template-key": (lambda v: ["project", "create", "{P}-new", "--template", v], "key"),
    "request-id": (lambda v: ["advance", "{P}", "--request-id", v], "rid"),
    "privilege": (lambda v: ["grant", "bob", v], "choice"),
    "status-filter": (lambda v: ["project", "list", "--status", v], "choice"),
    "action-filter": (lambda v: ["history", "{P}", "--action", v], "filter"),
    "command": (lambda v: [v], "choice"),
}


def assert_clean(data: bytes) -> None:
    """No escape or other control character (C0, DEL, C1) in what reaches a terminal."""
    text = data.decode("utf-8")  # also: what is printed is valid UTF-8
    bad = [c for c in text if c not in "\n" and unicodedata.category(c) == "Cc"]
    assert not bad, f"control characters printed: {bad[:5]!r} in {text[:200]!r}"
    assert "Traceback" not in text


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/hostile.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
    return url


def new_project(url: str, code: str) -> None:
    with Engine(url) as engine:
        engine.create_project(code, template="team-based", actor="ana")
        engine.assign(code, "integrated_producer", "ana", actor="ana")
        engine.assign(code, "team", "tom", actor="ana")


def expected(kind: str, value: str) -> set[int]:
    if value == SQL:
        return {"code": {2}, "role": {3}, "actor": {2}, "name": {2}, "text": {0}, "path": {2}, "since": {2},
                "key": {3}, "rid": {1}, "choice": {2}, "filter": {0, 2}}[kind]
    return {"role": {3}, "key": {2, 3}, "rid": {2}, "filter": {0, 2}}.get(kind, {2})


@pytest.mark.parametrize("hostile", list(HOSTILE))
@pytest.mark.parametrize("slot", list(SLOTS))
def test_hostile_text_in_every_argument_is_stored_as_given_or_refused_with_a_sentence(
        db: str, slot: str, hostile: str) -> None:
    code = f"P-{slot}"
    new_project(db, code)
    build, kind = SLOTS[slot]
    value = HOSTILE[hostile]
    args = [a.replace("{P}", code) for a in build(value)]
    head = [] if args[0] == "--as" else ["--as", "ana"]
    result = CliRunner().invoke(cli, ["--db", db, *head, *args], prog_name="phasegate")
    assert_clean(result.stdout_bytes)
    assert_clean(result.stderr_bytes)
    assert result.exit_code in expected(kind, value), (result.exit_code, result.output[:300])
    if result.exit_code in (2, 3, 4):
        assert "Error: " in result.stderr, result.stderr[:300]
        if not result.stderr.startswith("Usage:"):  # click's own usage errors quote the value whole
            assert len(result.stderr) < 2000, "phasegate's sentences shorten what they quote"
    if result.exit_code == 0 and kind == "text":
        assert_stored_exactly(db, code, slot, value)


def assert_stored_exactly(url: str, code: str, slot: str, value: str) -> None:
    """SQL-looking text round-trips byte for byte, in the state and in the history."""
    with Engine(url) as engine:
        if slot in ("name", "client"):
            created = engine.history(f"{code}-new")[0]
            assert created.data[slot] == value
            assert getattr(engine.status(f"{code}-new"), slot) == value
            return
        last = engine.history(code)[-1]
        field = {"person": "person", "note": "note", "comment": "comment", "reason": "reason"}[slot]
        assert last.data[field] == value
        if slot == "person":
            assert value in engine.status(code).team["team"]
        if slot == "note":
            assert [t.note for t in engine.status(code).tasks if t.role == "team"] == [value]


def test_sql_text_round_trips_through_json_output(db: str) -> None:
    new_project(db, "P")
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", db, "--as", "tom", "--json", "task", "done", "P", "team", "--note",
                                 SQL + '\n"quoted" \\ back'], prog_name="phasegate")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data"]["note"] == SQL + '\n"quoted" \\ back'
    with Engine(db) as engine:
        assert engine.verify_audit().ok
        assert len(engine.history("P")) == 4, "the events table is still there"


# -- invalid UTF-8 in argv, through a real process -----------------------------------------------------

BAD_UTF8 = b"\xff\xfe"
ARGV_SLOTS: dict[str, list[bytes]] = {
    "code": [b"project", b"status", BAD_UTF8],
    "role": [b"task", b"done", b"P", BAD_UTF8],
    "as": [b"--as", BAD_UTF8, b"project", b"status", b"P"],
    "person": [b"project", b"assign", b"P", b"team", BAD_UTF8],
    "note": [b"--as", b"tom", b"task", b"done", b"P", b"team", b"--note", b"ok " + BAD_UTF8],
    "reason": [b"hold", b"P", b"--reason", BAD_UTF8],
    "name": [b"project", b"create", b"P-2", b"--template", b"team-based", b"--name", BAD_UTF8],
    "template": [b"template", b"publish", b"/tmp/" + BAD_UTF8 + b".yaml"],
    "since": [b"history", b"P", b"--since", BAD_UTF8],
}


@pytest.mark.parametrize("slot", list(ARGV_SLOTS))
@pytest.mark.slow
def test_invalid_utf8_in_argv_is_refused_with_a_sentence(db: str, slot: str) -> None:
    new_project(db, "P")
    args = ARGV_SLOTS[slot]
    head = [] if args[0] == b"--as" else [b"--as", b"ana"]
    env = {**os.environ, "PYTHONPATH": str(Path(workflow.__file__).resolve().parent.parent),
           "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
    argv = [sys.executable.encode(), b"-m", b"workflow.cli", b"--db", db.encode(), *head, *args]
    proc = subprocess.run(argv, capture_output=True, env=env, timeout=60)
    assert_clean(proc.stdout)
    assert_clean(proc.stderr)
    assert proc.returncode in (2, 3), (proc.returncode, proc.stderr[:300])
    assert b"Error: " in proc.stderr, proc.stderr[:300]
    with Engine(db) as engine:
        assert len(engine.history("P")) == 3, "nothing was stored"


@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=40), st.booleans())
@pytest.mark.slow
def test_the_quick_printable_check_refuses_exactly_what_the_character_check_refuses(
    text: str, allow_newlines: bool
) -> None:
    from workflow.domain.inputs import _bad_char, _first_bad_char

    assert _bad_char(text, allow_newlines) == _first_bad_char(text, allow_newlines)


@pytest.mark.parametrize(
    "ch", ["\x00", "\x1b", "\x7f", "\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202e", "\u2066",
           "\ud800"]
)
def test_control_separator_and_bidi_characters_are_still_refused(ch: str) -> None:
    from workflow.domain.inputs import _bad_char

    assert _bad_char(f"ok{ch}ok", allow_newlines=True) is not None
    assert _bad_char("line one\nline\ttwo", allow_newlines=True) is None
    assert _bad_char("no\nnewline here", allow_newlines=False) is not None
