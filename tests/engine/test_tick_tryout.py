"""``tick --now T`` tries a schedule out: it says what a tick at T would give and writes nothing, on
every transport; an event's time is the real time of its transaction, whatever an older
``tick --now`` left on the record.

The clock is the tests' own (``schedules.moved_clock``): Monday 7 December 2026, 09:00 UTC; the
Kick-Off gate of P-1 opens then (remind after 2 working days, escalate after 4, due Thursday 10th).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from support.apiclients import api, bearer, error_of, unchanged_dump
from support.cli_runs import TRANSPORTS, Run, cli_session
from support.schedules import TIMED, MovableClock, moved_clock, timed_project

from workflow import Engine
from workflow.domain.audit.events import new_event
from workflow.errors import UsageError

FRIDAY = "2026-12-11T10:00:00Z"  # reminded, escalated and overdue by then
LATER = "2027-03-01T10:00:00Z"


@pytest.fixture(params=TRANSPORTS)
def run(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[tuple[Run, Engine, MovableClock]]:
    """``phasegate`` on a database with P-1 on the timed template, its Kick-Off gate open."""
    (tmp_path / "timed.yaml").write_text(TIMED)
    with moved_clock() as clock, cli_session(db_url, request.param) as phasegate, Engine(db_url) as engine:
        steps = [("init", "--admin", "ana"), ("template", "publish", str(tmp_path / "timed.yaml")),
                 ("project", "create", "P-1", "--template", "timed-team"),
                 ("project", "assign", "P-1", "producer", "ana"), ("project", "assign", "P-1", "dev", "dev"),
                 ("project", "assign", "P-1", "qa", "qa"), ("task", "done", "P-1", "producer")]
        for args in steps:
            result = phasegate(*args)
            assert result.exit_code == 0, (args, result.output)
        assert phasegate("task", "done", "P-1", "dev", actor="dev").exit_code == 0
        yield phasegate, engine, clock


def test_tick_now_says_what_would_happen_and_writes_nothing(run: tuple[Run, Engine, MovableClock]) -> None:
    phasegate, engine, _clock = run
    before = unchanged_dump(engine)
    tried = phasegate("tick", "--now", FRIDAY)
    assert tried.exit_code == 0, tried.output
    assert "a try-out at 2026-12-11T10:00:00.000000Z: nothing was written" in tried.output, tried.output
    assert "would give: 1 reminded, 1 escalated, 1 overdue" in tried.output, tried.output
    assert "P-1 remind: ana, qa" in tried.output and "P-1 escalate: ana" in tried.output
    listed = json.loads(phasegate("tick", "--now", FRIDAY, as_json=True).output)
    assert listed["dry_run"] is True and listed["events"] == []
    assert (listed["remind"], listed["escalate"], listed["overdue"]) == (1, 1, 1)
    assert [(n["project"], n["kind"], n["people"]) for n in listed["would"]] == [
        ("P-1", "overdue", ["ana"]), ("P-1", "remind", ["ana", "qa"]), ("P-1", "escalate", ["ana"])]
    assert unchanged_dump(engine) == before, "a try-out writes no event, timer, outbox row or clock"


def test_a_signature_after_a_tryout_is_dated_at_the_real_time(run: tuple[Run, Engine, MovableClock]) -> None:
    """The issue's case: a try-out at 2027-03-01, then ana approves on 2026-12-07."""
    phasegate, engine, clock = run
    assert phasegate("tick", "--now", LATER).exit_code == 0
    clock.move(minutes=5)
    assert phasegate("approve", "P-1", "producer").exit_code == 0
    last = engine.history("P-1")[-1]
    assert (last.action, last.at) == ("approve", clock.text())
    assert all(e.at <= clock.text() for e in engine.history("P-1")), "no event claims a moment to come"
    # The real tick still owes everything the try-out only looked at.
    clock.to(clock.at.replace(day=11, hour=10))
    ticked = json.loads(phasegate("tick", as_json=True).output)
    assert ticked["dry_run"] is False and (ticked["remind"], ticked["escalate"], ticked["overdue"]) == (1, 1, 1)


@pytest.mark.parametrize("moment", ["12000-01-01T00:00Z", "0000-12-31T00:00Z", "tomorrow", "2026-13-01"])
def test_a_time_outside_years_1_to_9999_or_not_a_time_is_refused(run: tuple[Run, Engine, MovableClock],
                                                                 moment: str) -> None:
    phasegate, engine, _clock = run
    before = unchanged_dump(engine)
    refused = phasegate("tick", "--now", moment)
    assert refused.exit_code == 2, refused.output
    assert "is not an ISO 8601 time" in refused.output or "outside the times" in refused.output
    assert unchanged_dump(engine) == before


def test_the_python_api_tries_out_too(db_url: str) -> None:
    with moved_clock(), Engine(db_url) as engine:
        timed_project(engine)
        engine.complete_task("P-1", "producer", actor="ana")
        engine.complete_task("P-1", "dev", actor="dev")
        before = unchanged_dump(engine)
        report = engine.tick(now=FRIDAY)
        assert report.dry_run and report.events == [] and report.counts() == {"remind": 1, "escalate": 1, "overdue": 1}
        assert unchanged_dump(engine) == before
        with pytest.raises(UsageError):
            engine.tick(now="12000-01-01T00:00Z")


def test_over_http_an_admin_tries_a_moment_out_with_get_and_nothing_is_written(db_url: str) -> None:
    with moved_clock(), Engine(db_url) as engine:
        timed_project(engine)
        engine.complete_task("P-1", "producer", actor="ana")
        engine.complete_task("P-1", "dev", actor="dev")
        tokens = {}
        for person in ("ana", "qa"):
            engine.add_user(person, actor="ana")
            tokens[person] = engine.create_token(actor=person, name="tests")[1]
        before = unchanged_dump(engine)
        with api(db_url) as client:
            tried = client.get("/api/v1/tick", params={"now": FRIDAY}, headers=bearer(tokens["ana"]))
            assert tried.status_code == 200, tried.text
            assert tried.json()["dry_run"] is True and len(tried.json()["would"]) == 3
            far = client.get("/api/v1/tick", params={"now": "12000-01-01T00:00Z"}, headers=bearer(tokens["ana"]))
            assert far.status_code == 422 and error_of(far)["kind"] == "bad_input"
            member = client.get("/api/v1/tick", params={"now": FRIDAY}, headers=bearer(tokens["qa"]))
            assert member.status_code == 403
        assert unchanged_dump(engine) == before


# -- a database an older `tick --now` wrote the future into --------------------------------------------


def future_notice(url: str, code: str, at: str) -> None:
    """An older phasegate's ``tick --now``: a ``remind`` event dated ``at`` (valid hashes), its timer row."""
    client = sqlalchemy.create_engine(url)
    try:
        with client.begin() as conn:
            row = conn.execute(text("SELECT id, seq, head_hash, phase, round, gate_opened_at FROM projects "
                                    "WHERE code = :code"), {"code": code}).one()
            data = {"round": row.round, "gate": "Kick-off sign-off", "people": ["ana", "qa"], "after": "2d",
                    "auth": "system", "gate_opened_at": row.gate_opened_at}
            event = new_event(code, row.seq + 1, row.head_hash, at, "phasegate", "remind", row.phase, data)
            conn.execute(text("INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
                              "VALUES (:chain, :seq, :at, :actor, :action, :phase, :data, :prev_hash, :hash)"),
                         {"chain": code, "seq": event.seq, "at": event.at, "actor": event.actor,
                          "action": event.action, "phase": event.phase, "data": event.data_json,
                          "prev_hash": event.prev_hash, "hash": event.hash})
            conn.execute(text("UPDATE projects SET seq = :seq, head_hash = :hash, updated_at = :at WHERE code = :code"),
                         {"seq": event.seq, "hash": event.hash, "at": at, "code": code})
            for person in ("ana", "qa"):
                conn.execute(text("INSERT INTO timers VALUES (:id, :phase, :round, 'remind', :person, :seq)"),
                             {"id": row.id, "phase": row.phase, "round": row.round, "person": person,
                              "seq": event.seq})
    finally:
        client.dispose()


def test_an_older_tryouts_future_events_stay_and_new_events_take_the_real_time(db_url: str) -> None:
    """They are on the record (hash-chained); they no longer drag later events' times to theirs, the
    project's past still reads, and ``audit verify`` passes."""
    with moved_clock() as clock, Engine(db_url) as engine:
        timed_project(engine)
        engine.complete_task("P-1", "producer", actor="ana")
        future_notice(db_url, "P-1", "2027-03-01T10:00:00.000000Z")
        clock.move(minutes=1)
        engine.complete_task("P-1", "dev", actor="dev")
        engine.approve("P-1", "qa", actor="qa")
        history = engine.history("P-1")
        assert [e.at for e in history[-2:]] == [clock.text(), clock.text()]
        assert history[-3].at == "2027-03-01T10:00:00.000000Z"
        assert engine.status_at("P-1", clock.text()).seq == history[-3].seq - 1, "the past before the future event"
        assert engine.status_at("P-1", "2027-03-02T00:00:00Z").seq == history[-1].seq
        assert engine.verify_audit().ok
        engine.report("P-1")
