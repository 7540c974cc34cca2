"""``tick``: reminders, escalations and overdue notices, each once per round and person, whatever
the number of ticks running at once; each an event on the record with its notifications.

Time is a MovableClock; the waiting signers of the Kick-Off gate (remind_after 2d,
escalate_after 4d to the lead) are ana (producer) and qa (QA lead) once both tasks are done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy
from sqlalchemy import text
from support.schedules import moved_clock, timed_project

from workflow import Engine
from workflow.engine.schedule.tick import tick


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with moved_clock() as clock, Engine(db_url) as e:
        e.clock = clock  # type: ignore[attr-defined]
        timed_project(e)
        e.complete_task("P-1", "producer", actor="ana")
        e.complete_task("P-1", "dev", actor="dev")  # the gate opens: Monday 7th 09:00
        yield e


def notices(e: Engine) -> list[tuple[str, list[str]]]:
    return [(ev.action, ev.data["people"]) for ev in e.history("P-1") if ev.action in ("remind", "escalate", "overdue")]


def test_nothing_is_owed_before_its_moment(engine: Engine) -> None:
    engine.clock.move(days=1, hours=23)  # Wednesday 08:00, before the reminder at Wednesday 09:00
    assert tick(engine.store).events == []


@pytest.mark.slow
def test_a_waiting_signer_is_reminded_once_then_the_lead_is_told(engine: Engine) -> None:
    engine.clock.move(days=2)  # Wednesday 09:00: two working days
    first = tick(engine.store)
    assert [(e.action, e.data["people"]) for e in first.events] == [("remind", ["ana", "qa"])]
    assert tick(engine.store).events == []  # given once, however many ticks
    engine.clock.move(days=1)  # Thursday: past the due date (Thursday 10th ends at midnight)? not yet
    assert tick(engine.store).events == []
    engine.clock.move(days=1)  # Friday 11th 09:00: four working days, and the due date has passed
    assert [(e.action, e.data["people"]) for e in tick(engine.store).events] == [
        ("overdue", ["ana"]), ("escalate", ["ana"])]
    assert notices(engine) == [("remind", ["ana", "qa"]), ("overdue", ["ana"]), ("escalate", ["ana"])]
    escalation = engine.history("P-1")[-1]
    assert (escalation.actor, escalation.auth, escalation.data["waiting_on"]) == ("phasegate", "system", ["ana", "qa"])
    assert engine.verify_audit().ok


def test_a_signer_who_signed_is_not_reminded(engine: Engine) -> None:
    engine.approve("P-1", "qa", actor="qa")
    engine.clock.move(days=2)
    assert [(e.action, e.data["people"]) for e in tick(engine.store).events] == [("remind", ["ana"])]


def test_a_signer_assigned_after_the_reminder_is_reminded_once_too(engine: Engine) -> None:
    engine.clock.move(days=2)
    tick(engine.store)
    engine.assign("P-1", "qa", "quinn", actor="ana")
    engine.clock.move(minutes=1)
    assert [(e.action, e.data["people"]) for e in tick(engine.store).events] == [("remind", ["quinn"])]
    assert tick(engine.store).events == []


def test_a_project_on_hold_is_not_reminded_and_its_clock_moves_on_resume(engine: Engine) -> None:
    engine.hold("P-1", actor="ana", reason="waiting for the client")
    engine.clock.move(days=7)  # the following Monday
    assert tick(engine.store).events == []
    engine.resume("P-1", actor="ana")  # the gate's clock moved by the hold: reminder due Wednesday again
    assert tick(engine.store).events == []
    engine.clock.move(days=2)
    assert [e.action for e in tick(engine.store).events] == ["remind"]


def test_a_new_round_reminds_again(engine: Engine) -> None:
    engine.clock.move(days=2)
    tick(engine.store)
    engine.reject("P-1", "qa", actor="qa", reason="the brief is vague")  # round 2 of Kick-Off
    engine.complete_task("P-1", "producer", actor="ana")
    engine.complete_task("P-1", "dev", actor="dev")
    engine.clock.move(days=2)
    assert [(e.action, e.data["round"]) for e in tick(engine.store).events] == [("remind", 2)]


def test_many_ticks_at_once_give_each_notice_once(engine: Engine, db_url: str) -> None:
    for n in range(2, 6):
        timed_project(engine, f"P-{n}")
        engine.complete_task(f"P-{n}", "producer", actor="ana")
        engine.complete_task(f"P-{n}", "dev", actor="dev")
    engine.clock.move(days=4)
    start = threading.Barrier(6)
    found: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Engine(db_url) as other:
                start.wait(timeout=30)
                found.extend(f"{e.chain}:{e.action}" for e in tick(other.store).events)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    expected = sorted(f"P-{n}:{a}" for n in range(1, 6) for a in ("overdue", "remind", "escalate"))
    assert sorted(found) == expected  # each once across the six ticks
    with sqlalchemy.create_engine(db_url).connect() as c:
        given = c.execute(text("SELECT kind, count(*) FROM timers GROUP BY kind ORDER BY kind")).all()
    assert [tuple(r) for r in given] == [("escalate", 5), ("overdue", 5), ("remind", 10)]


def test_the_tick_reads_only_the_projects_due_through_its_index(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's query plan is the one asserted here")
    with Engine(db_url) as e:
        e.init(admin="ana")
        with sqlalchemy.create_engine(db_url).connect() as c:
            plan = c.execute(text("EXPLAIN QUERY PLAN SELECT next_tick_at, code FROM projects WHERE "
                                  "next_tick_at IS NOT NULL AND next_tick_at <= '2027' "
                                  "ORDER BY next_tick_at, code LIMIT 500")).all()
    detail = " ".join(str(r[-1]) for r in plan)
    assert "USING INDEX ix_projects_next_tick_at" in detail and "SCAN projects" not in detail, detail
