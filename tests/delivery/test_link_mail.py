"""The outside signer's e-mails (issue 24), delivered to a real SMTP server (aiosmtpd): the invitation
carries the link and the code its six digits, to the invited address alone; once delivered, the secret
is not in the database any more. Reminders reach the outside signer at that address too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from support.links import BUYER, CLIENT_SOW
from support.receivers import smtp_receiver
from support.schedules import MovableClock, moved_clock

from workflow import Engine
from workflow.delivery.mail import MailConfig
from workflow.delivery.worker import Worker
from workflow.engine.schedule.tick import tick

BASE = "https://phasegate.example.com"


@pytest.fixture
def clock() -> Iterator[MovableClock]:
    with moved_clock() as c:
        yield c


@pytest.fixture
def engine(db_url: str, clock: MovableClock) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.add_user("pat", actor="ana", email="pat@agency.example")
        e.add_user("tim", actor="ana", email="tim@agency.example")
        timed = CLIENT_SOW.replace("      approvers: [producer, client]",
                                   "      approvers: [producer, client]\n      remind_after: 1d")
        e.publish_template(timed, actor="ana")
        e.create_project("C-1", template="client-sow", actor="ana")
        e.assign("C-1", "producer", "pat", actor="ana")
        e.assign("C-1", "tech", "tim", actor="ana")
        yield e


def secrets_kept(engine: Engine) -> list[object]:
    with engine.store.connect() as conn:
        return [r[0] for r in conn.execute(sqlalchemy.text("SELECT payload FROM outbox WHERE payload IS NOT NULL"))]


def deliver(engine: Engine, port: int) -> None:
    mail = MailConfig.from_url(f"smtp://127.0.0.1:{port}", "phasegate@agency.example")
    with Worker(engine.store, mail=mail, base_url=BASE) as worker:
        worker.drain()


def test_the_link_and_the_code_reach_the_invited_address_and_leave_the_database(engine: Engine,
                                                                                tmp_path: Path) -> None:
    with smtp_receiver() as box:
        engine.invite("C-1", "client", email=BUYER, name="Pat Buyer", actor="pat")
        deliver(engine, box.port)
        (invitation,) = [m for _f, to, m in box.messages if to == [BUYER]]
        text = invitation.get_body(("plain",)).get_content()
        link = re.search(rf"{re.escape(BASE)}/link/([A-Za-z0-9_-]{{43}})", text)
        assert link is not None and "Subject" in invitation and "C-1" in invitation["Subject"]
        assert invitation["To"] == BUYER
        secret = link.group(1)
        assert secrets_kept(engine) == []  # delivered: the link's secret is only in the mailbox now
        delivery = engine.link_send_code(secret, ip="127.0.0.1", user_agent="Firefox")
        deliver(engine, box.port)
        code_mail = box.messages[-1]
        assert code_mail[1] == [BUYER] and code_mail[2]["X-Phasegate-Delivery"] == delivery
        code = re.search(r"\b([0-9]{6})\b", code_mail[2].get_body(("plain",)).get_content())
        assert code is not None and secrets_kept(engine) == []
        event = engine.link_decide(secret, code=code.group(1), decision="done", ip="127.0.0.1")
    assert event.data["code_delivery"] == int(delivery) and event.auth == "email-link"


def test_reminders_reach_the_outside_signer_by_email(engine: Engine, clock: MovableClock) -> None:
    from support.links import code_of, payloads

    engine.invite("C-1", "client", email=BUYER, actor="pat")
    secret = payloads(engine, "invite")[0][1]
    assert isinstance(secret, str)
    engine.complete_task("C-1", "producer", actor="pat")
    code = code_of(engine, engine.link_send_code(secret, ip="127.0.0.1"))
    engine.link_decide(secret, code=code, decision="done", ip="127.0.0.1")  # the gate opens
    with smtp_receiver() as box:
        deliver(engine, box.port)
        before = len(box.messages)
        clock.move(days=3)
        reminders = [e for e in tick(engine.store).events if e.action == "remind"]
        assert reminders and f"client:{BUYER}" in reminders[0].data["people"]
        deliver(engine, box.port)
        reminded = [m for _f, to, m in box.messages[before:] if to == [BUYER]]
    assert [m["Subject"] for m in reminded] == ["[phasegate] C-1: reminder"]
    body = reminded[0].get_body(("plain",)).get_content()
    assert "C-1" in body and "/projects/C-1" not in body  # not a page they cannot open: their link
    assert "waiting for the Client's approval: buyer@acme.example" in " ".join(engine.status("C-1").blockers)
