"""Property tests: whatever bytes arrive, the loader answers with a Definition or a DefinitionError, quickly.

Inputs are the built-in templates mutated the way hand-edited files go wrong
(flipped bytes, lost or doubled lines, stray YAML syntax, anchors, tags, deep
nesting, odd unicode), plus generated documents that mix schema keys with
wrong types. Hypothesis runs derandomized without its example database, so a
run is the same on every machine. 1,600 + 500 = 2,100 documents per run.
"""

from __future__ import annotations

import time

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.domain import schema
from workflow.domain.definition import Definition
from workflow.errors import DefinitionError
from workflow.domain.loader import builtin_paths, load_definition

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
