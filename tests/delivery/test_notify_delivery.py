"""Delivering the outbox to real receivers: a local HTTP server and a local SMTP server (aiosmtpd).

Everything asserted is what the receivers actually got: the bytes, their HMAC, the headers, the
e-mail's parts. Time is the clock the tests move (``moved_clock``): a backoff is never slept.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from support.receivers import Receiver, http_receiver, smtp_receiver, verified
from support.schedules import MovableClock, moved_clock, timed_project

from workflow import Engine, settings
from workflow.delivery.backoff import retry_delay
from workflow.delivery.leases import claim
from workflow.delivery.mail import MailConfig
from workflow.delivery.worker import Worker
from workflow.errors import NotFound, NotPermitted, RuleRefused, UsageError
from workflow.storage.tables import notify_settings
from workflow.storage.tables import outbox as t_outbox
from workflow.storage.tables import webhooks as t_webhooks

SECRET = "a-long-enough-shared-secret"
BASE = "https://phasegate.example.com"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)  # the local receivers, let in as PHASEGATE_WEBHOOK_ALLOW does


@pytest.fixture
def clock() -> Iterator[MovableClock]:
    with moved_clock() as c:
        yield c


@pytest.fixture
def engine(db_url: str, clock: MovableClock) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        for person in ("ana", "dev", "qa"):
            e.add_user(person, actor="ana", email=f"{person}@example.com")
        yield e


def rows(e: Engine) -> list[dict[str, object]]:
    with e.store.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(t_outbox).order_by(t_outbox.c.id))]


def hooked(engine: Engine, receiver: Receiver, path: str = "/hook", **options: str) -> str:
    info, _made = engine.add_webhook(receiver.url + path, actor="ana", secret=SECRET, allow=LOOPBACK, **options)
    return info.id


@pytest.mark.slow
def test_a_webhook_gets_the_signed_event_and_the_delivery_id(engine: Engine) -> None:
    engine.set_notifications("dev", "none", actor="dev")
    engine.set_notifications("qa", "none", actor="qa")
    engine.set_notifications("ana", "none", actor="ana")
    with http_receiver() as receiver:
        hook = hooked(engine, receiver)
        timed_project(engine)
        with Worker(engine.store, allow=LOOPBACK, base_url=BASE) as worker:
            report = worker.drain()
        assert (report.delivered, report.retry, report.dead) == (1, 0, 0)
        (got,) = receiver.got
    assert verified(SECRET, got.body, got.headers["x-phasegate-signature"])
    assert not verified("another secret!!", got.body, got.headers["x-phasegate-signature"])
    body = json.loads(got.body)
    (row,) = rows(engine)
    assert got.headers["x-phasegate-delivery"] == str(row["id"])
    assert got.headers["x-phasegate-event"] == f"P-1/{row['seq']}"
    assert got.headers["content-type"] == "application/json"
    event = engine.history("P-1")[int(row["seq"]) - 1]
    assert body == {"delivery": row["id"], "kind": "task", "people": ["dev"], "project": "P-1",
                    "link": f"{BASE}/projects/P-1",
                    "event": {"chain": "P-1", "seq": event.seq, "hash": event.hash, "action": "assign",
                              "actor": "ana", "auth": event.auth, "at": event.at, "phase": "kickoff",
                              "data": event.data}}
    assert row["status"] == "delivered" and row["attempts"] == 1 and row["target"] == hook


@pytest.mark.slow
def test_a_slack_webhook_gets_slack_text_still_signed(engine: Engine) -> None:
    for person in ("ana", "dev", "qa"):
        engine.set_notifications(person, "none", actor="ana")
    with http_receiver() as receiver:
        hooked(engine, receiver, format="slack", events="task")
        timed_project(engine)
        with Worker(engine.store, allow=LOOPBACK, base_url=BASE) as worker:
            worker.drain()
        (got,) = receiver.got
    assert verified(SECRET, got.body, got.headers["x-phasegate-signature"])
    text = json.loads(got.body)["text"]
    assert "P-1" in text and "(dev)" in text and f"<{BASE}/projects/P-1|P-1>" in text


@pytest.mark.slow
def test_an_email_has_its_recipient_subject_sender_both_parts_and_the_link(engine: Engine) -> None:
    with smtp_receiver() as box:
        mail = MailConfig.from_url(f"smtp://127.0.0.1:{box.port}", "phasegate@agency.example")
        timed_project(engine)
        with Worker(engine.store, allow=LOOPBACK, mail=mail, base_url=BASE) as worker:
            report = worker.drain()
        assert report.delivered == 1
        ((sender, to, msg),) = box.messages
    assert (sender, to) == ("phasegate@agency.example", ["dev@example.com"])
    assert msg["To"] == "dev@example.com" and msg["From"] == "phasegate@agency.example"
    assert msg["Subject"] == "[phasegate] P-1: a task is yours"
    (row,) = rows(engine)
    assert msg["X-Phasegate-Delivery"] == str(row["id"])
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert f"{BASE}/projects/P-1" in text and "kickoff" in text
    assert f'<a href="{BASE}/projects/P-1">' in page


@pytest.mark.slow
def test_an_email_to_an_account_disabled_since_it_was_queued_is_not_sent(engine: Engine) -> None:
    with smtp_receiver() as box:
        mail = MailConfig.from_url(f"smtp://127.0.0.1:{box.port}", "phasegate@agency.example")
        timed_project(engine)  # dev's task: one e-mail queued
        engine.disable_user("dev", actor="ana")
        with Worker(engine.store, allow=LOOPBACK, mail=mail, base_url=BASE) as worker:
            report = worker.drain()
        assert box.messages == []
    assert (report.delivered, report.dead) == (0, 1)
    (row,) = rows(engine)
    assert (row["status"], row["last_error"]) == ("dead", "dev's account is disabled")


def test_without_smtp_the_emails_wait_and_the_worker_says_why(engine: Engine) -> None:
    timed_project(engine)
    with Worker.from_env(engine.store, env={}) as worker:
        report = worker.drain()
    assert report.claimed == 0 and report.mail_waiting == 1
    assert "PHASEGATE_SMTP_URL" in report.notes[0]
    assert [r["status"] for r in rows(engine)] == ["pending"]


@pytest.mark.slow
def test_a_receiver_answering_500_then_200_gets_it_on_the_retry_with_the_same_delivery_id(
    engine: Engine, clock: MovableClock
) -> None:
    for person in ("ana", "dev", "qa"):
        engine.set_notifications(person, "none", actor="ana")
    answers = iter([500, 200])
    with http_receiver(answer=lambda r: next(answers)) as receiver:
        hooked(engine, receiver)
        timed_project(engine)
        with Worker(engine.store, allow=LOOPBACK) as worker:
            assert worker.drain().retry == 1
            (row,) = rows(engine)
            assert row["status"] == "pending" and row["attempts"] == 1
            assert row["last_error"] == "the receiver answered HTTP 500"  # never what it said
            assert worker.drain().claimed == 0  # waiting for its backoff: nothing due yet
            clock.move(seconds=31)
            assert worker.drain().delivered == 1
        first, second = receiver.got
    assert first.body == second.body
    assert first.headers["x-phasegate-delivery"] == second.headers["x-phasegate-delivery"] == str(row["id"])
    assert rows(engine)[0]["status"] == "delivered"


@pytest.mark.slow
def test_a_receiver_that_never_answers_ends_dead_with_its_error_after_n_tries(
    engine: Engine, clock: MovableClock
) -> None:
    for person in ("ana", "dev", "qa"):
        engine.set_notifications(person, "none", actor="ana")
    engine.add_webhook("http://127.0.0.1:9/nobody-listens", actor="ana", secret=SECRET,  # port 9: refused
                       allow=LOOPBACK)
    timed_project(engine)
    with Worker(engine.store, allow=LOOPBACK, max_attempts=4, deadline=2) as worker:
        for _ in range(4):
            worker.drain()
            clock.move(hours=2)  # past any backoff (capped at one hour)
    (row,) = rows(engine)
    assert row["status"] == "dead" and row["attempts"] == 4
    assert "ConnectError" in str(row["last_error"])
    (failed,) = engine.outbox(reader="ana", failed=True)
    assert failed.id == row["id"] and failed.status == "dead"
    event = engine.retry_notification(int(row["id"]), actor="ana")
    assert event.action == "notify.retry" and event.data["was"] == "dead"
    assert rows(engine)[0]["status"] == "pending" and rows(engine)[0]["attempts"] == 0
    with pytest.raises(NotPermitted):
        engine.retry_notification(int(row["id"]), actor="dev")
    for made_up in (999, 2**63):
        with pytest.raises(NotFound):
            engine.retry_notification(made_up, actor="ana")
    assert engine.verify_audit().ok


def test_the_backoff_doubles_is_capped_and_jittered() -> None:
    assert [retry_delay(n, draw=lambda: 1.0) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20, draw=lambda: 1.0) == 3600
    assert retry_delay(1, draw=lambda: 0.0) == 15


@pytest.mark.slow
def test_a_delivered_notification_is_not_sent_again_on_retry(engine: Engine) -> None:
    with http_receiver() as receiver:
        hooked(engine, receiver)
        timed_project(engine)
        with Worker(engine.store, allow=LOOPBACK) as worker:
            worker.drain()
    first = next(r for r in rows(engine) if r["channel"] == "webhook")
    assert first["status"] == "delivered"
    with pytest.raises(RuleRefused, match="delivered already"):
        engine.retry_notification(int(first["id"]), actor="ana")


@pytest.mark.slow
def test_a_slow_receiver_costs_the_command_nothing(engine: Engine) -> None:
    with http_receiver(delay=2.0) as receiver:
        hooked(engine, receiver)
        started = time.perf_counter()
        timed_project(engine)  # writes outbox rows; sends nothing
        assert time.perf_counter() - started < 1.5
        assert receiver.got == []


@pytest.mark.slow
def test_workers_at_once_never_both_send_a_row_while_its_lease_holds(engine: Engine, db_url: str) -> None:
    """Three workers, each with its own database connection (as on three hosts), drain the same
    outbox side by side: every row reaches the receiver exactly once."""
    for person in ("ana", "dev", "qa"):
        engine.set_notifications(person, "none", actor="ana")
    with http_receiver(delay=0.005) as receiver:
        hooked(engine, receiver, "/a")
        hooked(engine, receiver, "/b")
        for n in range(8):
            timed_project(engine, code=f"P-{n}")
        ids = [int(r["id"]) for r in rows(engine)]
        assert len(ids) >= 16
        start = threading.Barrier(3)
        delivered = [0, 0, 0]

        def work(i: int) -> None:
            with Engine(db_url) as mine, Worker(mine.store, allow=LOOPBACK, batch=2, concurrency=2) as worker:
                start.wait()
                delivered[i] = worker.drain().delivered

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = sorted(int(r.headers["x-phasegate-delivery"]) for r in receiver.got)
    assert got == sorted(ids), "each row once: none twice, none lost"
    assert sum(delivered) == len(ids) and sum(1 for d in delivered if d) >= 2, "the workers overlapped"
    assert {r["status"] for r in rows(engine)} == {"delivered"}


def test_a_row_whose_lease_lapsed_is_claimed_again_but_not_before(engine: Engine, clock: MovableClock) -> None:
    timed_project(engine)
    now = clock.text()
    first = claim(engine.store, now, limit=10, channels=("email",), lease_seconds=60)
    assert len(first) == 1
    assert claim(engine.store, clock.move(seconds=59), limit=10, channels=("email",)) == []
    again = claim(engine.store, clock.move(seconds=2), limit=10, channels=("email",))
    assert [r.id for r in again] == [first[0].id] and again[0].lease != first[0].lease


def test_a_notification_being_sent_is_not_retried_until_its_lease_lapses(engine: Engine, clock: MovableClock
                                                                         ) -> None:
    timed_project(engine)
    (held,) = claim(engine.store, clock.text(), limit=10, channels=("email",), lease_seconds=60)
    with pytest.raises(RuleRefused, match="being sent right now"):
        engine.retry_notification(held.id, actor="ana")
    clock.move(seconds=61)  # the worker died: its lease lapsed
    assert engine.retry_notification(held.id, actor="ana").action == "notify.retry"


@pytest.mark.slow
def test_a_removed_webhook_gets_nothing_more_and_its_waiting_rows_go_dead(engine: Engine) -> None:
    with http_receiver() as receiver:
        hook = hooked(engine, receiver)
        timed_project(engine)
        engine.remove_webhook(hook, actor="ana")
        with Worker(engine.store, allow=LOOPBACK) as worker:
            worker.drain()
        assert receiver.got == []
    webhook_rows = [r for r in rows(engine) if r["channel"] == "webhook"]
    assert webhook_rows and all(r["status"] == "dead" for r in webhook_rows)
    assert "removed" in str(webhook_rows[0]["last_error"])
    with pytest.raises(RuleRefused):
        engine.remove_webhook(hook, actor="ana")


@pytest.mark.slow
def test_webhooks_and_email_choices_are_admin_commands_on_the_record_and_replay(engine: Engine) -> None:
    info, made = engine.add_webhook("https://hooks.example.com/x", actor="ana", events="sign,remind")
    assert made is not None and made.startswith("pgw_")
    assert info.kinds == ["remind", "sign"] and info.fingerprint == hashlib.sha256(made.encode()).hexdigest()[:12]
    with pytest.raises(NotPermitted):
        engine.add_webhook("https://hooks.example.com/y", actor="dev")
    with pytest.raises(UsageError, match="not a kind"):
        engine.add_webhook("https://hooks.example.com/y", actor="ana", events="sign,bogus")
    with pytest.raises(UsageError, match="http"):
        engine.add_webhook("ftp://hooks.example.com/y", actor="ana")
    with pytest.raises(UsageError, match="16"):
        engine.add_webhook("https://hooks.example.com/y", actor="ana", secret="short")
    engine.set_notifications("dev", "sign,task", actor="dev")
    with pytest.raises(NotPermitted):
        engine.set_notifications("qa", "none", actor="dev")
    assert engine.notifications(reader="dev").email_kinds == ["sign", "task"]
    assert engine.notifications("qa", reader="ana").email_kinds is None
    assert engine.verify_audit().ok
    assert made not in json.dumps([w.to_dict() for w in engine.webhooks(reader="ana")])


@pytest.mark.parametrize(("column", "value"), [("url", "https://evil.example.com/x"), ("secret", "x" * 20),
                                               ("active", False), ("kinds", '["*"]')])
def test_the_state_check_catches_an_edited_webhooks_row(engine: Engine, column: str, value: object) -> None:
    info, _ = engine.add_webhook("https://hooks.example.com/x", actor="ana", events="sign", secret=SECRET)
    with engine.store.connect() as c:
        c.execute(update(t_webhooks).where(t_webhooks.c.id == info.id).values({column: value}))
        c.commit()
    report = engine.verify_audit()
    assert not report.ok
    assert report.first_broken is not None and report.first_broken.problem == "state differs"
    assert f"webhooks row {info.id}" in report.first_broken.detail


def test_the_state_check_catches_an_edited_email_choice(engine: Engine) -> None:
    engine.set_notifications("dev", "none", actor="dev")
    with engine.store.connect() as c:
        c.execute(update(notify_settings).where(notify_settings.c.person == "dev").values(email_kinds=None))
        c.commit()
    report = engine.verify_audit()
    assert report.first_broken is not None
    assert "notify_settings row dev: email_kinds" in report.first_broken.detail


def test_smtp_settings_are_read_from_the_url() -> None:
    c = MailConfig.from_url("smtps://me%40x.com:p%3Ass@mail.example.com:2465?starttls=0", "pg@x.com")
    assert (c.host, c.port, c.tls, c.starttls, c.user, c.password) == ("mail.example.com", 2465, True, False,
                                                                         "me@x.com", "p:ss")
    assert MailConfig.from_url("smtp://h?starttls=1", "pg@x.com").starttls
    assert "p:ss" not in repr(c)
    with pytest.raises(UsageError):
        MailConfig.from_url("http://h", "pg@x.com")
    with pytest.raises(UsageError, match="in clear"):  # AUTH only over TLS
        MailConfig.from_url("smtp://me:secret@mail.example.com:587", "pg@x.com")
    assert MailConfig.from_url("smtp://me:secret@mail.example.com:587?starttls=1", "pg@x.com").user == "me"
    assert MailConfig.from_settings(settings.read({"PHASEGATE_SMTP_URL": "smtp://h"})) is None


def test_the_lease_is_always_more_than_twice_the_deadline(engine: Engine) -> None:
    """A row is sent (within the deadline) and settled while its worker holds it: no other worker takes
    it meanwhile; a row that could not start in time goes back unsent (``hold``)."""
    with Worker(engine.store) as worker:  # a 10 s deadline
        assert (worker.deadline, worker.lease_seconds, worker.hold) == (10, 60, 40)
    with Worker(engine.store, deadline=30) as slow:
        assert slow.lease_seconds == 90
    with Worker(engine.store, lease_seconds=0.5, deadline=0.2) as chosen:
        assert chosen.lease_seconds == 0.5
    with pytest.raises(UsageError, match="more than twice"):
        Worker(engine.store, lease_seconds=0.5)
