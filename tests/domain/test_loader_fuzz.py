"""Property tests: whatever bytes arrive, the loader answers with a Definition or a DefinitionError, quickly.

Inputs are the built-in templates mutated the way hand-edited files go wrong
(flipped bytes, lost or doubled lines, stray YAML syntax, anchors, tags, deep
nesting, odd unicode, YAML escapes), plus generated documents that mix schema
keys with wrong types, plus built-ins whose values are double-quoted scalars full
of escapes (``\\e``, ``\\x07``, ``\\u202e``...). Whatever the loader accepts holds no
control character, however it was written. Hypothesis runs derandomized without
its example database, so a run is the same on every machine. 1,600 + 500 + 800 =
2,900 documents per run.
"""

from __future__ import annotations

import dataclasses
import time
import unicodedata
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.domain.templates import schema
from workflow.domain.templates.definition import Definition
from workflow.domain.templates.loader import builtin_paths, load_definition
from workflow.errors import DefinitionError

pytestmark = pytest.mark.slow  # hypothesis fuzz of the loader: ~10 s

# CPU seconds per document: a bound against pathological blow-ups (a billion laughs takes minutes),
# not a benchmark; CPU time, so a busy machine does not trip it (inputs take ~0.3 ms, the slowest ~50 ms).
TIME_BOUND = 2.0

BASES = [path.read_bytes() for path in builtin_paths().values()]

# fmt: off
SYNTAX = [
    b"&a ", b"*a", b"!!", b"!!python/object:os.system ", b"!x ", b"{", b"}", b"[", b"]", b"- ", b": ",
    b"? ", b"---\n", b"...\n", b"%YAML 1.1\n", b"<<: *a\n", b"|\n", b">-\n", b"'", b'"', b"#", b"\t",
    b"\n", b"  ", b",", b"~", b"no", b"0755", b"1e3", b"2024-01-01", b"\x00", b"\xff", b"\xef\xbb\xbf",
    b"\xc3", b"\xe2\x80\xa8", b"key: x\n", b"required: 9\n", b"on_reject: nowhere\n", b"approvers: []\n",
    b'"\\e[31mRED"', b'"P\\u202e"', b'"\\x07"', b'"\\0"', b'"\\r"', b'"\\N"', b'"\\ud800"', b'"\\U0001F600"',
    b"\\e", b"\\x9b", b"\\u2066", b"\xe2\x80\xae", b"\xe2\x81\xa6",
]
# fmt: on

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def check(data: bytes | str) -> None:
    start = time.process_time()
    try:
        definition = load_definition(data, "fuzz.yaml")
    except DefinitionError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.source == "fuzz.yaml"
            assert problem.message
            assert problem.line is None or problem.line >= 1
            assert problem.column is None or problem.column >= 1
    else:
        assert_consistent(definition)
        assert_no_control_characters(definition)
    elapsed = time.process_time() - start
    assert elapsed < TIME_BOUND, f"{elapsed:.3f} CPU seconds for one document"


def assert_consistent(definition: Definition) -> None:
    """Anything the loader accepts obeys the template rules the engine relies on."""
    roles = definition.role_keys
    assert roles and len(set(roles)) == len(roles)
    assert definition.lead in roles
    keys = definition.phase_keys
    assert keys and len(set(keys)) == len(keys)
    for index, phase in enumerate(definition.phases):
        assert phase.tasks or phase.gate
        assert list(phase.task_roles) == [r for r in roles if r in phase.task_roles]
        if phase.gate is not None:
            approvers = phase.gate.approvers
            assert approvers and set(approvers) <= set(roles) and len(set(approvers)) == len(approvers)
            assert 1 <= phase.gate.needed <= len(approvers)
            assert phase.gate.on_reject in keys and keys.index(phase.gate.on_reject) <= index
            assert isinstance(phase.gate.distinct_people, bool)


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def is_forbidden(ch: str) -> bool:
    """What the loader promises no accepted text holds (tabs and line breaks are text)."""
    cat = unicodedata.category(ch)
    return (cat in ("Cc", "Cs") and ch not in "\t\n") or ch in "\u2028\u2029\ufffe\uffff" or ch in BIDI


def strings_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in strings_of(getattr(value, f.name))]
    if isinstance(value, tuple | list):
        return [s for item in value for s in strings_of(item)]
    return []


def assert_no_control_characters(definition: Definition) -> None:
    for text in strings_of(definition):
        bad = [ch for ch in text if is_forbidden(ch)]
        assert not bad, f"accepted {text!r} with {bad!r}"


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 8))
        at = draw(st.integers(0, len(data)))
        lines = bytes(data).split(b"\n")
        line = draw(st.integers(0, len(lines) - 1))
        if kind == 0 and data:  # flip a byte
            i = at % len(data)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == 1:  # lose a line
            del lines[line]
            data = bytearray(b"\n".join(lines))
        elif kind == 2:  # double a line
            lines.insert(line, lines[line])
            data = bytearray(b"\n".join(lines))
        elif kind == 3:  # stray YAML syntax
            data[at:at] = draw(st.sampled_from(SYNTAX))
        elif kind == 4:  # deep nesting
            depth = draw(st.integers(1, 40))
            data[at:at] = b"[" * depth + b"x" + b"]" * depth
        elif kind == 5:  # random unicode
            data[at:at] = draw(st.text(max_size=8)).encode("utf-8", "surrogatepass")
        elif kind == 6:  # indentation shift
            lines[line] = b"  " + lines[line] if draw(st.booleans()) else lines[line].lstrip()
            data = bytearray(b"\n".join(lines))
        elif kind == 7:  # truncate
            del data[at:]
        else:  # swap two lines
            other = draw(st.integers(0, len(lines) - 1))
            lines[line], lines[other] = lines[other], lines[line]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


KEYS = sorted({name for fields in schema.LEVELS.values() for name in fields} | {"team", "extra", "<<", ""})
SCALARS = st.one_of(
    st.sampled_from(
        ["all", "any", "0", "1", "2", "-1", "true", "false", "team", "build", "no", "on", "~", ""]
    ),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    max_leaves=12,
)


@st.composite
def generated_documents(draw: st.DrawFn) -> str:
    """Documents of the right overall shape whose values are drawn from every kind, right or wrong."""
    phase = draw(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
    document = {
        "key": draw(st.sampled_from(["t", "Bad Key", "", "x" * 70])),
        "title": draw(SCALARS),
        "roles": draw(st.one_of(st.just({"team": {"title": "Team"}}), VALUES)),
        "lead": draw(st.sampled_from(["team", "boss", ""])),
        "phases": [phase, *draw(st.lists(VALUES, max_size=2))],
    }
    extra = draw(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=2))
    document |= extra
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(document, Dumper=dumper, sort_keys=False, allow_unicode=True)


# YAML's escapes in double-quoted scalars, each with the character it stands for.
SHORT_ESCAPES = {
    "0": "\x00", "a": "\x07", "b": "\x08", "t": "\t", "n": "\n", "v": "\x0b", "f": "\x0c", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
    "P": "\u2029",
}
CODE_POINTS = st.one_of(
    st.integers(0, 0xA0),
    st.sampled_from([0x2028, 0x2029, 0xFFFE, 0xFFFF, 0xD800, 0xDFFF, *map(ord, BIDI)]),
    st.integers(0, 0x10FFFF),
)


@st.composite
def escapes(draw: st.DrawFn) -> tuple[str, int | None]:
    """One escape as written, and the code point it stands for (None: YAML refuses it)."""
    kind = draw(st.sampled_from(["short", "x", "u", "U"]))
    if kind == "short":
        letter = draw(st.sampled_from(sorted(SHORT_ESCAPES)))
        return "\\" + letter, ord(SHORT_ESCAPES[letter])
    code = draw(CODE_POINTS)
    if kind == "x":
        code %= 0x100
        return f"\\x{code:02x}", code
    if kind == "u":
        code %= 0x10000
        return f"\\u{code:04X}", code
    return f"\\U{code:08x}", code


def is_text_line(line: str) -> bool:
    """A line of a built-in that holds one text value: a title, a description or a task."""
    key = line.strip().split(": ", 1)[0]
    if key in ("title", "description"):
        return True
    return line.startswith("      ") and ": " in line and key not in (
        "approvers", "required", "distinct_people", "on_reject")


@st.composite
def escaped_documents(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A built-in whose title or one task is a double-quoted scalar of text and escapes."""
    text = draw(st.sampled_from(BASES)).decode("utf-8")
    lines = text.split("\n")
    slots = [i for i, line in enumerate(lines) if is_text_line(line)]
    at = draw(st.sampled_from(slots))
    pieces, codes = [], []
    for _ in range(draw(st.integers(1, 4))):
        pieces.append(draw(st.text(alphabet="abc XYZ", max_size=3)))
        written, code = draw(escapes())
        pieces.append(written)
        codes.append(code)
    head = lines[at].split(": ", 1)[0]
    lines[at] = f'{head}: "{"".join(pieces)}"'
    return "\n".join(lines), codes


@settings(max_examples=1600, **SETTINGS)
@given(mutated_documents())
def test_mutated_builtins_give_a_definition_or_a_definition_error(data: bytes) -> None:
    check(data)


@settings(max_examples=500, **SETTINGS)
@given(generated_documents())
def test_generated_documents_give_a_definition_or_a_definition_error(text: str) -> None:
    check(text)


def test_unmutated_builtins_pass_the_same_check() -> None:
    for base in BASES:
        check(base)
        assert isinstance(load_definition(base), Definition)


@settings(max_examples=800, **SETTINGS)
@given(escaped_documents())
def test_values_written_with_escapes_are_refused_when_they_decode_to_control_characters(
    document: tuple[str, list[int]],
) -> None:
    text, codes = document
    check(text)
    if any(is_forbidden(chr(code)) for code in codes):
        try:
            load_definition(text, "fuzz.yaml")
        except DefinitionError as exc:
            assert any("escape" in p.message or "not valid YAML" in p.message for p in exc.problems), exc
        else:
            raise AssertionError(f"accepted a control character written as an escape: {text!r}")
