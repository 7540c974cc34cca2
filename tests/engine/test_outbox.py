"""The outbox's producing side: each event that asks somebody to act writes its notifications in
its own transaction, one row per e-mail recipient who wants that kind and one per webhook.

Delivery is ``phasegate notify run``'s (tests/delivery/, tests/cli/test_notify_cli.py); here only what is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy
from sqlalchemy import text
from support.schedules import moved_clock, timed_project

from workflow import Engine
from workflow.engine.schedule.tick import tick
from workflow.errors import NotPermitted


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with moved_clock() as clock, Engine(db_url) as e:
        e.clock = clock  # type: ignore[attr-defined]
        e.init(admin="ana")
        for person in ("ana", "dev", "qa", "quinn"):
            e.add_user(person, actor="ana", email=f"{person}@example.com")
        e.sql = sqlalchemy.create_engine(db_url)  # type: ignore[attr-defined]
        with e.sql.begin() as c:  # type: ignore[attr-defined]
            c.execute(text("INSERT INTO webhooks VALUES ('wh_all', 'http://127.0.0.1:9/all', '[\"*\"]', 's', "
                           "'json', TRUE, '2026-12-01T00:00:00.000000Z', 'ana'), ('wh_sign', "
                           "'http://127.0.0.1:9/sign', '[\"sign\"]', 's', 'json', TRUE, "
                           "'2026-12-01T00:00:00.000000Z', 'ana'), ('wh_off', 'http://127.0.0.1:9/off', "
                           "'[\"*\"]', 's', 'json', FALSE, '2026-12-01T00:00:00.000000Z', 'ana')"))
        yield e


def outbox(e: Engine, since: int = 0) -> list[tuple[int, str, str, list[str], str]]:
    """(event seq, kind, channel, people, target) of P-1's rows, in order."""
    with e.sql.connect() as c:  # type: ignore[attr-defined]
        rows = c.execute(text("SELECT seq, kind, channel, people, target FROM outbox WHERE chain = 'P-1' "
                              "AND seq > :since ORDER BY id"), {"since": since}).all()
    return [(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]


def test_a_task_that_becomes_yours_is_an_email_and_a_webhook_call(engine: Engine) -> None:
    timed_project(engine)  # ana assigns herself (not told), dev and qa
    assert outbox(engine) == [
        (3, "task", "email", ["dev"], "dev@example.com"), (3, "task", "webhook", ["dev"], "wh_all"),
        # qa's role has no task in Kick-Off, and the gate waits for the tasks first: nothing asked yet
    ]


def test_the_last_task_done_opens_the_gate_to_its_signers(engine: Engine) -> None:
    timed_project(engine)
    engine.complete_task("P-1", "producer", actor="ana")
    seq = engine.complete_task("P-1", "dev", actor="dev").seq
    assert outbox(engine, since=seq - 1) == [
        (seq, "sign", "email", ["ana"], "ana@example.com"), (seq, "sign", "email", ["qa"], "qa@example.com"),
        (seq, "sign", "webhook", ["ana", "qa"], "wh_all"), (seq, "sign", "webhook", ["ana", "qa"], "wh_sign")]


def test_a_gate_waiting_on_someone_away_asks_their_delegate_with_a_copy_to_them(engine: Engine) -> None:
    timed_project(engine)
    engine.add_user("dee", actor="ana", email="dee@example.com")
    today = engine.clock.now().date().isoformat()  # type: ignore[attr-defined]
    engine.delegate("qa", "dee", today, today, actor="qa", reason="a day off")
    engine.complete_task("P-1", "producer", actor="ana")
    seq = engine.complete_task("P-1", "dev", actor="dev").seq
    emails = [(r[2], r[3]) for r in outbox(engine, since=seq - 1) if r[1] == "sign" and r[2] == "email"]
    assert ("email", ["dee"]) in emails and ("email", ["qa"]) in emails


def test_the_last_signature_tells_the_lead(engine: Engine) -> None:
    timed_project(engine)
    engine.complete_task("P-1", "producer", actor="ana")
    engine.complete_task("P-1", "dev", actor="dev")
    engine.approve("P-1", "producer", actor="ana")
    seq = engine.approve("P-1", "qa", actor="qa").seq
    assert [(k, ch, p) for _s, k, ch, p, _t in outbox(engine, since=seq - 1)] == [
        ("ready", "email", ["ana"]), ("ready", "webhook", ["ana"])]


def test_a_rejection_tells_the_people_it_sends_back(engine: Engine) -> None:
    timed_project(engine)
    for role, person in (("producer", "ana"), ("dev", "dev")):
        engine.complete_task("P-1", role, actor=person)
    seq = engine.reject("P-1", "qa", actor="qa", reason="vague").seq
    assert [(k, ch, p) for _s, k, ch, p, _t in outbox(engine, since=seq - 1)] == [
        ("rejected", "email", ["ana"]), ("rejected", "email", ["dev"]),
        ("rejected", "webhook", ["ana", "dev"])]  # a webhook gets one call an event and kind


def test_a_refused_command_writes_no_notification(engine: Engine) -> None:
    timed_project(engine)
    before = outbox(engine)
    with pytest.raises(NotPermitted):
        engine.assign("P-1", "dev", "quinn", actor="dev")
    assert outbox(engine) == before


def test_people_choose_which_emails_they_get_and_disabled_accounts_get_none(engine: Engine) -> None:
    with engine.sql.begin() as c:  # type: ignore[attr-defined]
        c.execute(text("INSERT INTO notify_settings VALUES ('dev', '[\"sign\"]', NULL, '2026-12-01T00:00:00Z')"))
    engine.disable_user("quinn", actor="ana")
    timed_project(engine)
    engine.assign("P-1", "qa", "quinn", actor="ana")
    assert [(k, ch, p) for _s, k, ch, p, _t in outbox(engine)] == [("task", "webhook", ["dev"])]


def test_reminders_escalations_and_overdue_notices_are_notifications_too(engine: Engine) -> None:
    timed_project(engine)
    engine.complete_task("P-1", "producer", actor="ana")
    seq = engine.complete_task("P-1", "dev", actor="dev").seq
    engine.clock.move(days=4)
    tick(engine.store)
    kinds = [(k, ch, p) for _s, k, ch, p, _t in outbox(engine, since=seq) if ch == "email"]
    assert kinds == [("overdue", "email", ["ana"]), ("remind", "email", ["ana"]), ("remind", "email", ["qa"]),
                     ("escalate", "email", ["ana"])]


@pytest.mark.slow
def test_a_phase_that_asks_a_large_team_writes_every_row(engine: Engine) -> None:
    """More rows than one statement may carry parameters for (SQLite's oldest limit: 999)."""
    timed_project(engine)
    for n in range(90):
        engine.add_user(f"dev{n:02d}", actor="ana", email=f"dev{n:02d}@example.com")
        engine.assign("P-1", "dev", f"dev{n:02d}", actor="ana")
    engine.complete_task("P-1", "producer", actor="ana")
    seq = engine.complete_task("P-1", "dev", actor="dev").seq
    engine.approve("P-1", "producer", actor="ana")
    engine.approve("P-1", "qa", actor="qa")
    seq = engine.advance("P-1", actor="ana").seq  # Build: the 91 developers' task
    rows = outbox(engine, since=seq - 1)
    emails = [r for r in rows if r[2] == "email"]
    assert len(emails) == 91 and len(rows) == 91 + 1  # and the webhook taking every kind
    assert sorted(r[3][0] for r in emails) == sorted(["dev", *(f"dev{n:02d}" for n in range(90))])
