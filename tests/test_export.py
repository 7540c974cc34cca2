"""`audit export`: JSON Lines and CSV parse back into exactly the history, streamed, filtered by project."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest

from workflow import Engine
from workflow.storage import export
from workflow.errors import NotFound, NotPermitted, UsageError

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
    engine.export(out, fmt, project=project, actor="olga")
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
        engine.export(io.StringIO(), "jsonl", actor="fay")
    with pytest.raises(NotFound):
        engine.export(io.StringIO(), "jsonl", project="NOPE", actor="olga")
    with pytest.raises(UsageError):
        engine.export(io.StringIO(), "xml", actor="olga")
