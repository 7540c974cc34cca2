"""`audit export`: JSON Lines and CSV parse back into exactly the history, streamed, filtered by project;
CSV cells a spreadsheet would run as formulas are marked as text unless ``raw``; to a terminal,
no control character gets through."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterator

import pytest
import sqlalchemy
from sqlalchemy import text

from workflow import Engine
from workflow.cli.render import TerminalSafeWriter
from workflow.domain.audit.events import event_hash
from workflow.errors import NotFound, NotPermitted, UsageError
from workflow.storage.audit import export

TEAM = {"integrated_producer": "ana", "team": "fay"}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.grant("olga", "auditor", actor="ana")
        for code in ("P-1", "P-2"):
            e.create_project(code, template="team-based", actor="ana", name='Launch, "phase" 2')
            for role, person in TEAM.items():
                e.assign(code, role, person, actor="ana")
            e.complete_task(code, "team", actor="fay", note="line one\nline two, with a comma")
            e.approve(code, "team", actor="fay", comment="ok ✓")
        e.reject("P-1", "integrated_producer", actor="ana", reason="brief incomplete")
        yield e


def exported(engine: Engine, fmt: str, project: str | None = None) -> str:
    out = io.StringIO()
    engine.export(out, fmt, project=project, reader="olga")
    return out.getvalue()


def test_jsonl_is_one_history_event_a_line(engine: Engine) -> None:
    lines = exported(engine, "jsonl", "P-1").splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in engine.history("P-1")]
    assert all(line.isascii() for line in lines)


def test_jsonl_of_everything_holds_every_chain_in_verify_order(engine: Engine) -> None:
    events = [json.loads(line) for line in exported(engine, "jsonl").splitlines()]
    assert [e["chain"] for e in events] == sorted(e["chain"] for e in events)
    assert len(events) == engine.verify_audit().events_checked
    system = [e for e in events if e["chain"] == "@system"]
    assert system and all(e["project"] is None for e in system)
    for key in ("seq", "at", "actor", "action", "project", "data", "prev_hash", "hash", "chain", "phase"):
        assert key in events[0]


def test_csv_has_one_flat_column_per_filterable_field_and_parses_back(engine: Engine) -> None:
    rows = list(csv.DictReader(io.StringIO(exported(engine, "csv", "P-1"))))
    assert tuple(rows[0]) == export.CSV_COLUMNS
    history = engine.history("P-1")
    assert len(rows) == len(history)
    for r, e in zip(rows, history, strict=True):
        assert (r["chain"], r["project"], int(r["seq"]), r["at"], r["actor"], r["action"]) == (
            "P-1",
            "P-1",
            e.seq,
            e.at,
            e.actor,
            e.action,
        )
        assert (r["prev_hash"], r["hash"], r["phase"]) == (e.prev_hash, e.hash, e.phase)
        assert json.loads(r["data"]) == e.data
        assert r["template_key"] == "team-based" and r["template_version"] == "1"
        assert r["template_sha256"] == e.data["template"]["sha256"]
        assert r["round"] == str(e.data["round"])
    approve = next(r for r in rows if r["action"] == "approve")
    assert (approve["role"], approve["decision"], approve["comment_or_reason"]) == (
        "team",
        "approved",
        "ok ✓",
    )
    reject = next(r for r in rows if r["action"] == "reject")
    assert (reject["decision"], reject["comment_or_reason"]) == ("rejected", "brief incomplete")
    done = next(r for r in rows if r["action"] == "task.done")
    assert json.loads(done["data"])["note"] == "line one\nline two, with a comma"


def test_export_streams_in_batches(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = exported(engine, "jsonl")
    monkeypatch.setattr(export, "BATCH", 2)
    assert exported(engine, "jsonl") == whole


def test_export_is_for_admins_and_auditors_of_known_projects(engine: Engine) -> None:
    with pytest.raises(NotPermitted):
        engine.export(io.StringIO(), "jsonl", reader="fay")
    with pytest.raises(NotFound):
        engine.export(io.StringIO(), "jsonl", project="NOPE", reader="olga")
    with pytest.raises(UsageError):
        engine.export(io.StringIO(), "xml", reader="olga")


# -- CSV injection (issue 12 #12) ----------------------------------------------------------------

FORMULA_PERSON = "=HYPERLINK(\"http://x\",\"y\")"


@pytest.fixture
def typed(db_url: str) -> Iterator[Engine]:
    """A project whose people typed text a spreadsheet would run: a note, a comment, a reason; and an
    actor no login name can be (written straight into the database, with a valid hash)."""
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.grant("olga", "auditor", actor="ana")
        e.create_project("F-1", template="team-based", actor="ana")
        e.assign("F-1", "integrated_producer", "ana", actor="ana")
        e.assign("F-1", "team", "eve", actor="ana")
        e.complete_task("F-1", "team", actor="eve", note="@channel done")
        e.approve("F-1", "team", actor="eve", comment="+1 from me")
        e.hold("F-1", actor="ana", reason="-5 days late")
        append_event(db_url, "F-1", FORMULA_PERSON, {"comment": "=1+1", "round": 1})
        yield e


def csv_rows(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


def raw_csv(db_url: str, project: str) -> str:
    sql = sqlalchemy.create_engine(db_url)
    try:
        with sql.connect() as conn:
            out = io.StringIO()
            export.export_events(conn, out, "csv", project, raw=True)
            return out.getvalue()
    finally:
        sql.dispose()


def test_csv_marks_text_cells_a_spreadsheet_would_run_as_formulas(typed: Engine) -> None:
    rows = csv_rows(exported(typed, "csv", "F-1"))
    by_action = {r["action"]: r for r in rows[:-1]}
    assert rows[-1]["actor"] == "'" + FORMULA_PERSON
    assert rows[-1]["comment_or_reason"] == "'=1+1"
    assert by_action["approve"]["comment_or_reason"] == "'+1 from me"
    assert by_action["hold"]["comment_or_reason"] == "'-5 days late"
    assert json.loads(by_action["task.done"]["data"])["note"] == "@channel done"  # JSON text starts with {
    for r in rows:
        assert not r["actor"].startswith(export.FORMULA_STARTS) and not r["comment_or_reason"].startswith(
            export.FORMULA_STARTS)


def test_csv_keeps_hashes_times_and_numbers_exact(typed: Engine) -> None:
    rows = csv_rows(exported(typed, "csv", "F-1"))
    history = typed.history("F-1")
    for r, e in zip(rows, history, strict=True):
        assert (int(r["seq"]), r["at"], r["prev_hash"], r["hash"]) == (e.seq, e.at, e.prev_hash, e.hash)
        assert json.loads(r["data"]) == e.data
        assert r["round"] == ("" if e.data.get("round") is None else str(e.data["round"]))


def test_raw_csv_and_jsonl_keep_every_cell_exactly_as_stored(typed: Engine, db_url: str) -> None:
    rows = csv_rows(raw_csv(db_url, "F-1"))
    approve = next(r for r in rows if r["action"] == "approve")
    assert (approve["actor"], approve["comment_or_reason"]) == ("eve", "+1 from me")
    assert (rows[-1]["actor"], rows[-1]["comment_or_reason"]) == (FORMULA_PERSON, "=1+1")
    events = [json.loads(line) for line in exported(typed, "jsonl", "F-1").splitlines()]
    assert [e["actor"] for e in events] == [e.actor for e in typed.history("F-1")]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_marked_and_other_cells_are_not(start: str) -> None:
    data = json.dumps({"round": -1, "role": "team", "comment": start + "cmd"})
    row = ("P-1", 3, "2026-11-28T14:30:00.000000Z", start + "x", "approve", "build", data, "0" * 64, "a" * 64)
    cells = dict(zip(export.CSV_COLUMNS, export._csv_row(row), strict=True))
    assert cells["actor"] == "'" + start + "x" and cells["comment_or_reason"] == "'" + start + "cmd"
    assert cells["round"] == -1 and cells["seq"] == 3  # numbers stay numbers
    assert cells["hash"] == "a" * 64 and cells["at"] == row[2] and cells["data"] == data
    raw = dict(zip(export.CSV_COLUMNS, export._csv_row(row, raw=True), strict=True))
    assert (raw["actor"], raw["comment_or_reason"]) == (start + "x", start + "cmd")


# -- exports that reach a terminal (issue 16 #10) --------------------------------------------------

ESCAPES = "\x1b[2J\x1b]0;pwn\x07\x9b31m\r\u202e"


def append_event(db_url: str, chain: str, actor: str, data: dict[str, object]) -> None:
    """An event written straight into the database with a valid hash, as someone with write access could."""
    sql = sqlalchemy.create_engine(db_url)
    try:
        with sql.begin() as conn:
            seq, prev = conn.execute(
                text("SELECT seq, hash FROM events WHERE chain = :c ORDER BY seq DESC LIMIT 1"), {"c": chain}
            ).one()
            at, data_text = "2026-11-28T14:30:00.000000Z", json.dumps(data, sort_keys=True)
            row = {"chain": chain, "seq": seq + 1, "at": at, "actor": actor, "action": "approve",
                   "phase": None, "data": data_text, "prev_hash": prev}
            row["hash"] = event_hash(prev, chain, seq + 1, at, actor, "approve", None, data_text)
            conn.execute(text(
                "INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
                "VALUES (:chain, :seq, :at, :actor, :action, :phase, :data, :prev_hash, :hash)"
            ), row)
    finally:
        sql.dispose()


def control_characters(out: str) -> list[str]:
    return [c for c in out if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs")]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_through_the_terminal_writer_prints_no_control_character(
    engine: Engine, db_url: str, fmt: str
) -> None:
    append_event(db_url, "P-1", "mallory" + ESCAPES, {"comment": "line\n" + ESCAPES, "role": "team"})
    exact = exported(engine, fmt, "P-1")
    shown = io.StringIO()
    engine.export(TerminalSafeWriter(shown), fmt, project="P-1", reader="olga")  # type: ignore[arg-type]
    assert not control_characters(shown.getvalue()), control_characters(shown.getvalue())
    assert shown.getvalue().count("\n") == exact.count("\n")  # rows (and a cell's lines) stay lines
    if fmt == "jsonl":
        assert shown.getvalue() == exact  # already ASCII with \\uNNNN escapes: nothing to change
    else:
        assert ESCAPES in exact and control_characters(exact)  # a file stays exact
        rows = csv_rows(shown.getvalue())
        assert rows[-1]["actor"] == "mallory\\x1b[2J\\x1b]0;pwn\\x07\\x9b31m\\x0d\\u202e"


def test_the_terminal_writer_escapes_the_same_whatever_the_pieces() -> None:
    whole = io.StringIO()
    TerminalSafeWriter(whole).write("a\x1bb\nc\td\n")
    pieces = io.StringIO()
    writer = TerminalSafeWriter(pieces)
    writer.writelines(["a", "\x1b", "b\n", "c", "\td", "\n"])
    writer.flush()
    assert whole.getvalue() == pieces.getvalue() == "a\\x1bb\nc\\x09d\n"


def test_audit_export_to_stdout_prints_no_control_character(engine: Engine, db_url: str) -> None:
    from support.cli_runs import cli_runner

    append_event(db_url, "P-1", "mallory" + ESCAPES, {"comment": ESCAPES})
    for fmt in ("csv", "jsonl"):
        result = cli_runner(db_url)("audit", "export", "--format", fmt, "--project", "P-1", actor="olga")
        assert result.exit_code == 0, result.output
        assert not control_characters(result.stdout), (fmt, control_characters(result.stdout))


def test_csv_keeps_the_system_chains_name_and_still_guards_formulas() -> None:
    """``@system`` was written ``'@system`` (issue 21): the chain's name is phasegate's own word, kept
    as is; what people typed is still guarded, and a chain cell that is not @system too."""
    data = json.dumps({"comment": "@SUM(A1:A9)"})
    row = ("@system", 1, "2026-11-28T14:30:00.000000Z", "ana", "grant", None, data, "0" * 64, "a" * 64)
    cells = dict(zip(export.CSV_COLUMNS, export._csv_row(row), strict=True))
    assert (cells["chain"], cells["project"]) == ("@system", "")
    assert cells["comment_or_reason"] == "'@SUM(A1:A9)"
    for typed in ("=1+2", "@SUM(A1:A9)", "+cmd", "-2+3", "=HYPERLINK(\"http://x\")"):
        tampered = (typed, 2, row[2], typed, "approve", None, json.dumps({"reason": typed}), "0" * 64, "a" * 64)
        guarded = dict(zip(export.CSV_COLUMNS, export._csv_row(tampered), strict=True))
        assert guarded["chain"] == guarded["project"] == guarded["actor"] == "'" + typed
        assert guarded["comment_or_reason"] == "'" + typed


def test_a_csv_export_of_the_system_chain_says_at_system(engine: Engine) -> None:
    rows = csv_rows(exported(engine, "csv"))
    assert {r["chain"] for r in rows if r["project"] == ""} == {"@system"}
