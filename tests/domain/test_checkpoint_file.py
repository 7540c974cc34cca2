"""Reading a checkpoint file: any content gives a sentence (UsageError, exit 2, or AuditBroken,
exit 6), never a traceback; and what comes back says whether its signature was really checked.

The fuzz runs as the template loader's does (tests/domain/test_loader_fuzz.py): hypothesis,
derandomized, no example database, a CPU-time bound per input. Inputs are real
checkpoints mutated byte by byte and value by value (wrong types, non-ASCII and
surrogate text, deep nesting, huge numbers), read from a file with and without a key.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow.domain.audit.checkpoint import (
    KEY_ENV,
    Checkpoint,
    load_checkpoint,
    make_checkpoint,
    read_checkpoint,
)
from workflow.errors import AuditBroken, PhasegateError, UsageError
from workflow.settings import current

KEY = b"correct horse battery staple"
CHAINS = {"@system": (4, "a" * 64), "P-1": (11, "0123456789abcdef" * 4), "P-2": (1, "f" * 64)}
CREATED = "2026-11-28T14:30:00.123456Z"
UNSIGNED = make_checkpoint(CHAINS, CREATED, None).to_json()
SIGNED = make_checkpoint(CHAINS, CREATED, KEY).to_json()
TIME_BOUND = 2.0  # CPU seconds per input; inputs take well under a millisecond
SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def load(text: str, key: bytes | None) -> Checkpoint:
    return load_checkpoint(text, key, source="cp.json")


def with_field(base: str, **changes: Any) -> str:
    doc = json.loads(base)
    doc.update(changes)
    return json.dumps(doc)


# -- the signature state (issue 12: an auditor told something false) ----------------------------


def test_a_valid_signature_checked_with_the_key_is_checked() -> None:
    cp = load(SIGNED, KEY)
    assert (cp.signature_state, cp.signed) == ("checked", True)


def test_a_signature_without_a_key_is_not_checked_and_does_not_count_as_signed() -> None:
    cp = load(SIGNED, None)
    assert (cp.signature_state, cp.signed) == ("not checked", False)


def test_a_forged_signature_without_a_key_is_not_reported_as_checked() -> None:
    forged = with_field(UNSIGNED, signature="hmac-sha256:" + "0" * 64)
    cp = load(forged, None)
    assert (cp.signature_state, cp.signed) == ("not checked", False)
    with pytest.raises(AuditBroken, match="wrong signature"):
        load(forged, KEY)


def test_a_checkpoint_without_a_signature_says_none() -> None:
    cp = load(UNSIGNED, None)
    assert (cp.signature_state, cp.signed, cp.signature) == ("none", False, None)
    with pytest.raises(AuditBroken, match="not signed"):
        load(UNSIGNED, KEY)


def test_a_new_checkpoint_is_checked_when_signed_here_and_none_otherwise() -> None:
    assert make_checkpoint(CHAINS, CREATED, KEY).signature_state == "checked"
    assert make_checkpoint(CHAINS, CREATED, None).signature_state == "none"


def test_the_state_cannot_contradict_the_signature() -> None:
    with pytest.raises(ValueError):
        Checkpoint(CREATED, dict(CHAINS), "sha256:" + "0" * 64, None, "checked")
    with pytest.raises(ValueError):
        Checkpoint(CREATED, dict(CHAINS), "sha256:" + "0" * 64, "hmac-sha256:" + "0" * 64, "none")


def test_a_key_that_is_not_utf8_in_the_environment_is_used_as_its_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, b"k\xffey".decode("utf-8", "surrogateescape"))
    assert current().checkpoint_key == b"k\xffey"


def test_the_checkpoint_text_is_ascii_and_reads_back_to_the_same_checkpoint() -> None:
    """``audit checkpoint`` prints it; a chain name from a tampered database must not reach a terminal raw."""
    chains = {**CHAINS, "P-\x1b[2J\u202e": (1, "b" * 64)}
    for key in (None, KEY):
        made = make_checkpoint(chains, CREATED, key)
        assert made.to_json().isascii()
        loaded = load(made.to_json(), key)
        assert (loaded.chains, loaded.digest, loaded.signature) == (chains, made.digest, made.signature)


# -- malformed files (issue 16 #5) -----------------------------------------------------------------

ALTERED = [
    with_field(UNSIGNED, digest="sha256:" + "é" * 64),  # compare_digest raised TypeError on non-ASCII
    with_field(UNSIGNED, digest="sha256:" + "A" * 64),
    with_field(UNSIGNED, digest=["sha256:"]),
    with_field(UNSIGNED, digest=None),
    with_field(SIGNED, signature="hmac-sha256:" + "é" * 64),
    with_field(SIGNED, signature=7),
    with_field(UNSIGNED, created_at=["2026"]),
    with_field(UNSIGNED, created_at="yesterday\x1b[2J"),
    with_field(UNSIGNED, chains={"P-1": 1}),
    with_field(UNSIGNED, chains=[["P-1", 1, "a" * 64]]),
    with_field(UNSIGNED, chains=[{"chain": "\ud800", "length": 1, "head": "a" * 64}]),  # not encodable
    with_field(UNSIGNED, chains=[{"chain": "P-1", "length": True, "head": "a" * 64}]),
    with_field(UNSIGNED, chains=[{"chain": "P-1", "length": 1.0, "head": "a" * 64}]),
    with_field(UNSIGNED, chains=[{"chain": "P-1", "length": -1, "head": "a" * 64}]),
    with_field(UNSIGNED, chains=[{"chain": "P-1", "length": 1, "head": "é" * 64}]),
    with_field(UNSIGNED, chains=[{"chain": "P-1", "length": 1, "head": "a" * 64}] * 2),
    with_field(UNSIGNED, chains=[{"chain": [[[[]]]], "length": 1, "head": "a" * 64}]),
]
NOT_CHECKPOINTS = [
    "",
    "[" * 100_000 + "]" * 100_000,  # RecursionError in json
    '{"a":' * 100_000 + "1" + "}" * 100_000,
    '{"format": "phasegate-checkpoint", "version": ' + "[" * 50_000 + "]" * 50_000 + "}",
    with_field(UNSIGNED, version=True),  # True == 1 in Python
    with_field(UNSIGNED, version="1"),
    with_field(UNSIGNED, version=2),
    '{"format": "phasegate-checkpoint", "version": ' + "9" * 5000 + "}",  # more digits than int() takes
    "null",
    '"phasegate-checkpoint"',
    "\ud800",
]


@pytest.mark.parametrize("text", ALTERED)
@pytest.mark.parametrize("key", [None, KEY])
def test_an_altered_or_malformed_checkpoint_is_audit_broken_with_a_sentence(
    text: str, key: bytes | None
) -> None:
    with pytest.raises(AuditBroken) as caught:
        load(text, key)
    assert str(caught.value).startswith("cp.json ")
    assert "\x1b" not in str(caught.value) and len(str(caught.value)) < 300


@pytest.mark.parametrize("text", NOT_CHECKPOINTS)
def test_what_is_not_a_checkpoint_is_a_usage_error_with_a_sentence(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        load(text, None)
    assert str(caught.value).startswith("cp.json ") and len(str(caught.value)) < 300


def test_a_file_that_is_not_utf8_or_too_big_or_missing_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe{}")
    for path in (tmp_path / "bin.json", tmp_path / "missing.json", tmp_path, "a\x00b"):
        with pytest.raises(UsageError):
            read_checkpoint(path)


# -- the fuzz ------------------------------------------------------------------------------------

# fmt: off
SYNTAX = [
    "{", "}", "[", "]", ",", ":", '"', "\\", "\\u0000", "\\ud800", "\\u00e9", "null", "true", "1e999",
    "-0", "NaN", "Infinity", "9" * 400, "é", "\x00", "\u202e", "\ud800", "[" * 3000, "{\"a\":" * 3000,
]
# fmt: on
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(alphabet=st.characters(codec=None), max_size=70)
    | st.sampled_from(["sha256:" + "é" * 64, "hmac-sha256:" + "0" * 64, "a" * 64, CREATED]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["chain", "length", "head", "x"]), inner, max_size=4),
    max_leaves=8,
)
FIELDS = ["format", "version", "created_at", "chains", "digest", "signature", "extra"]


@st.composite
def mutated_checkpoints(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from([UNSIGNED, SIGNED]))
    if draw(st.booleans()):  # value by value: a field or a chain entry's field gets another JSON value
        doc = json.loads(text)
        for _ in range(draw(st.integers(1, 3))):
            value = draw(JSON_VALUES)
            if draw(st.booleans()):
                doc[draw(st.sampled_from(FIELDS))] = value
            elif doc.get("chains") and isinstance(doc["chains"], list):
                entry = draw(st.sampled_from(doc["chains"]))
                if isinstance(entry, dict):
                    entry[draw(st.sampled_from(["chain", "length", "head", "x"]))] = value
        text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(draw(st.integers(0, 4))):  # byte by byte
        at = draw(st.integers(0, len(data)))
        kind = draw(st.integers(0, 3))
        if kind == 0 and data:
            data[at % len(data)] ^= 1 << draw(st.integers(0, 7))
        elif kind == 1:
            data[at:at] = draw(st.sampled_from(SYNTAX)).encode("utf-8", "surrogatepass")
        elif kind == 2:
            del data[at : at + draw(st.integers(1, 40))]
        else:
            del data[at:]
    return bytes(data)


def check(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    for key in (None, KEY):
        start = time.process_time()
        try:
            cp = load_checkpoint(read_checkpoint(path), key, source="cp.json")
        except (UsageError, AuditBroken) as exc:
            assert str(exc).startswith("cp.json ") or str(path) in str(exc), str(exc)
        except PhasegateError as exc:  # pragma: no cover - a failure names the unexpected kind
            raise AssertionError(f"unexpected {type(exc).__name__}: {exc}") from exc
        else:
            unchecked = "none" if cp.signature is None else "not checked"
            assert cp.signature_state == ("checked" if key else unchecked)
            assert all(type(n) is int and n >= 0 for n, _ in cp.chains.values())
        elapsed = time.process_time() - start
        assert elapsed < TIME_BOUND, f"{elapsed:.3f} CPU seconds for one checkpoint"


@settings(max_examples=1500, **SETTINGS)
@given(mutated_checkpoints())
@pytest.mark.slow
def test_any_mutated_checkpoint_file_gives_a_checkpoint_or_a_sentence(
    tmp_path_factory: Any, data: bytes
) -> None:
    check(tmp_path_factory.getbasetemp() / "fuzz-cp.json", data)


@settings(max_examples=500, **SETTINGS)
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
@pytest.mark.slow
def test_any_bytes_give_a_checkpoint_or_a_sentence(tmp_path_factory: Any, data: bytes) -> None:
    check(tmp_path_factory.getbasetemp() / "fuzz-any.json", data)


def test_unmutated_checkpoints_pass_the_same_check(tmp_path: Path) -> None:
    for text in (UNSIGNED, SIGNED):
        check(tmp_path / "cp.json", text.encode())


@pytest.mark.slow
def test_verify_never_says_signature_checked_when_no_key_could_check_it(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: a forged signature and no key set printed "(signature checked)"."""
    from support.cli_runs import cli_runner

    from workflow import Engine

    with Engine(sqlite_url) as engine:
        engine.init(admin="ana")
        doc = json.loads(engine.checkpoint(reader="ana").to_json())
    doc["signature"] = "hmac-sha256:" + "0" * 64  # anyone can write one
    cp = tmp_path / "forged.json"
    cp.write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.delenv(KEY_ENV, raising=False)
    result = cli_runner(sqlite_url)("audit", "verify", "--checkpoint", str(cp))
    assert result.exit_code == 0, result.output
    assert "signature checked" not in result.output
    assert "signed, but the signature was not checked: set PHASEGATE_CHECKPOINT_KEY" in result.output
    as_json = cli_runner(sqlite_url)("--json", "audit", "verify", "--checkpoint", str(cp))
    assert json.loads(as_json.output)["checkpoint_signature"] == "not checked"
    monkeypatch.setenv(KEY_ENV, "the real key")
    forged = cli_runner(sqlite_url)("audit", "verify", "--checkpoint", str(cp))
    assert forged.exit_code == 6 and "wrong signature" in forged.stderr
    with Engine(sqlite_url) as engine:  # signed with the key, it is checked
        (tmp_path / "signed.json").write_text(engine.checkpoint(reader="ana").to_json(), encoding="utf-8")
    verify = cli_runner(sqlite_url)
    signed = verify("--json", "audit", "verify", "--checkpoint", str(tmp_path / "signed.json"))
    assert json.loads(signed.output)["checkpoint_signature"] == "checked"
    unsigned_doc = {k: v for k, v in doc.items() if k != "signature"}
    (tmp_path / "unsigned.json").write_text(json.dumps(unsigned_doc), encoding="utf-8")
    monkeypatch.delenv(KEY_ENV)
    unsigned = verify("--json", "audit", "verify", "--checkpoint", str(tmp_path / "unsigned.json"))
    assert json.loads(unsigned.output)["checkpoint_signature"] == "none"
