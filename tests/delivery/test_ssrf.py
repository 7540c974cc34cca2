"""Webhooks cannot be aimed inside the network (server-side request forgery), and never bring a
receiver's answer back to a person's screen.

Following the OWASP SSRF Prevention Cheat Sheet: a webhook to a loopback, link-local, private,
multicast, reserved or unspecified address, in any spelling or behind a name resolving to one, is
refused when it is added (every transport) and again on the address delivery connects to (DNS
rebinding); ``PHASEGATE_WEBHOOK_ALLOW`` lets chosen networks in. The resolvers are patched only to
make a name resolve to 127.0.0.1 here: every test talks to loopback receivers alone.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.apiclients import api, bearer, error_of
from support.cli_runs import TRANSPORTS, cli_runner, cli_session
from support.invariants import dump
from support.receivers import Received, http_receiver, raw_receiver, said
from support.schedules import timed_project
from support.servers import live_server

from workflow import Engine
from workflow.delivery import webhooks
from workflow.delivery.worker import Worker
from workflow.engine import notifications
from workflow.errors import UsageError

SECRET = "a-long-enough-shared-secret"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
PUBLIC = ipaddress.ip_address("93.184.215.14")  # what the made-up names "resolve" to when added
REFUSED = "phasegate posts webhooks only to public addresses"

# Every spelling the red team used, and the other ways of writing an internal address.
INTERNAL = [
    "http://0.0.0.0/x",
    "http://0/x",
    "http://[::1]/x",
    "http://[::]/x",
    "http://127.1/x",
    "http://2130706433/x",
    "http://0x7f.0.0.1/x",
    "http://0177.0.0.1/x",
    "http://127.0.0.1./x",
    "http://127.0.0.1:5432/",
    "https://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::ffff:a9fe:a9fe]/x",
    "http://[fe80::1]/x",
    "http://[fd00::1]/x",
    "http://10.0.0.1/x",
    "http://172.16.0.1/x",
    "http://192.168.1.1/x",
    "http://100.64.0.1/x",
    "http://224.0.0.1/x",
    "http://[ff02::1]/x",
    "http://240.0.0.1/x",
    "http://255.255.255.255/x",
    "http://[2002:7f00:1::]/x",
    "http://[64:ff9b::7f00:1]/x",
    "http://localhost:8765/signin",  # a name that resolves to loopback
]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        for person in ("ana", "dev", "qa"):
            e.add_user(person, actor="ana")
        yield e


def made_up_names_resolve(monkeypatch: pytest.MonkeyPatch, port: int, *, at_delivery: str = "127.0.0.1") -> None:
    """``*.test`` names: public when the webhook is added, ``at_delivery`` when it is sent (a rebinding
    DNS server's trick); every other name as the system resolves it."""
    real_add, real_send = notifications.resolve, webhooks.resolve

    def when_added(host: str, port_: int) -> list[Any]:
        return [PUBLIC] if host.endswith(".test") else real_add(host, port_)

    def when_sent(host: str, port_: int) -> list[Any]:
        if host.endswith(".test"):
            return [(ipaddress.ip_address(at_delivery), (at_delivery, port_))]
        return real_send(host, port_)

    monkeypatch.setattr(notifications, "resolve", when_added)
    monkeypatch.setattr(webhooks, "resolve", when_sent)


# -- when a webhook is added ------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.slow
def test_every_spelling_of_an_internal_address_is_refused_when_added(sqlite_url: str, transport: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
    with cli_session(sqlite_url, transport) as run:
        for url in INTERNAL:
            result = run("webhook", "add", url)
            assert result.exit_code == 2, (url, result.output)
            assert REFUSED in result.stderr and "PHASEGATE_WEBHOOK_ALLOW" in result.stderr, (url, result.stderr)
        assert json.loads(run("webhook", "list", as_json=True).stdout) == []


@pytest.mark.slow
def test_every_spelling_of_an_internal_address_is_refused_422_over_http(sqlite_url: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
        e.add_user("ana", actor="ana")
        token = e.create_token(actor="ana", name="tests")[1]
    with api(sqlite_url) as client:
        for url in INTERNAL:
            answer = client.post("/api/v1/webhooks", json={"url": url}, headers=bearer(token))
            assert answer.status_code == 422, (url, answer.text)
            error = error_of(answer)
            assert error["kind"] == "bad_input" and REFUSED in error["message"], (url, error)
        assert client.get("/api/v1/webhooks", headers=bearer(token)).json() == []


def test_the_refusal_says_which_address_and_why(engine: Engine) -> None:
    with pytest.raises(UsageError) as refused:
        engine.add_webhook("http://2130706433/x", actor="ana")
    assert "2130706433 (127.0.0.1) is a loopback address" in str(refused.value)
    with pytest.raises(UsageError, match=r"169\.254\.169\.254 is a link-local address"):
        engine.add_webhook("http://169.254.169.254/", actor="ana")
    with pytest.raises(UsageError, match="neither a name nor an IPv4 address"):
        engine.add_webhook("http://256.0.0.1/", actor="ana")


def test_a_non_admin_learns_nothing_of_what_a_url_resolves_to(engine: Engine) -> None:
    from workflow.errors import NotPermitted

    with pytest.raises(NotPermitted):
        engine.add_webhook("http://10.0.0.1/x", actor="dev")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.slow
def test_credentials_in_a_webhook_url_are_refused(sqlite_url: str, transport: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
    with cli_session(sqlite_url, transport) as run:
        for url in ("https://bot:hunter2@hooks.example.com/x", "https://bot@hooks.example.com/x",
                    "https://:hunter2@hooks.example.com/x"):
            result = run("webhook", "add", url)
            assert result.exit_code == 2 and "user or password" in result.stderr, (url, result.output)
    with Engine(sqlite_url) as e:
        assert "hunter2" not in json.dumps(dump(e), default=str)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.slow
def test_the_allow_list_lets_the_networks_it_names_in(sqlite_url: str, transport: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
    with cli_session(sqlite_url, transport, webhook_allow="127.0.0.0/8,10.0.0.0/8") as run:
        for url in ("http://127.1:9/x", "http://2130706433:9/x", "http://[::ffff:127.0.0.1]:9/x",
                    "http://10.1.2.3/x", "http://localhost:9/x"):
            added = run("webhook", "add", url)
            assert added.exit_code == 0, (url, added.output)
        refused = run("webhook", "add", "http://192.168.1.1/x")  # not in the list: still refused
        assert refused.exit_code == 2 and "192.168.0.0/" in refused.stderr


def test_a_malformed_allow_list_stops_every_command_that_reads_it(sqlite_url: str, tmp_path: Path) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
    run = cli_runner(sqlite_url, "127.0.0.0/8,not-a-network")
    for args in (("webhook", "add", "https://hooks.example.com/x"), ("notify", "run", "--once"),
                 ("serve", "--port", "0")):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "PHASEGATE_WEBHOOK_ALLOW" in result.stderr and "not-a-network" in result.stderr, args


# -- when it is delivered ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_name_that_resolves_inside_at_delivery_is_refused_without_connecting(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when added, 127.0.0.1 when sent. The address connected to is the one
    checked, so nothing reaches the receiver; with the allow-list it does, with the URL's Host."""
    with http_receiver() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        made_up_names_resolve(monkeypatch, port)
        engine.add_webhook(f"http://hooks.rebind.test:{port}/hook", actor="ana", secret=SECRET)  # no allow-list
        timed_project(engine)
        with Worker(engine.store) as worker:
            report = worker.drain()
        assert report.delivered == 0 and receiver.got == []
        (row,) = [r for r in engine.outbox(reader="ana") if r.channel == "webhook"]
        assert row.status == "pending" and row.last_error is not None
        assert f"hooks.rebind.test (127.0.0.1) is a loopback address: {REFUSED}" in row.last_error
        engine.retry_notification(row.id, actor="ana")
        with Worker(engine.store, allow=LOOPBACK) as allowed:
            assert allowed.drain().delivered == 1
        (got,) = receiver.got
    assert got.headers["host"] == f"hooks.rebind.test:{port}"


@pytest.mark.slow
def test_a_refused_address_is_never_connected_to(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(conn: Any, _got: Received) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    with raw_receiver(answer) as receiver:
        made_up_names_resolve(monkeypatch, receiver.port)
        engine.add_webhook(f"http://hooks.rebind.test:{receiver.port}/hook", actor="ana", secret=SECRET)
        timed_project(engine)
        with Worker(engine.store) as worker:
            worker.drain()
        time.sleep(0.2)
        assert receiver.connections == 0


@pytest.mark.slow
def test_https_goes_to_the_checked_address_with_the_urls_server_name(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS checks the certificate against the URL's name, not the address connected to."""
    import trustme

    ca = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.tls.test").configure_cert(served)
    names: list[str | None] = []
    served.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)

    def answer(conn: Any, _got: Received) -> None:
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    with raw_receiver(answer, tls=served) as receiver:
        made_up_names_resolve(monkeypatch, receiver.port)
        engine.add_webhook(f"https://hooks.tls.test:{receiver.port}/hook", actor="ana", secret=SECRET)
        timed_project(engine)
        with Worker(engine.store, allow=LOOPBACK, ssl_context=trusted) as worker:
            assert worker.drain().delivered == 1
        (got,) = receiver.got
    assert names == ["hooks.tls.test"] and got.headers["host"] == f"hooks.tls.test:{receiver.port}"


@pytest.mark.slow
def test_no_redirect_is_followed(engine: Engine) -> None:
    with http_receiver() as target, raw_receiver(said(
        f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {'http://127.0.0.1:1'}/x\r\nContent-Length: 0\r\n\r\n".encode()
    )) as redirecting:
        engine.add_webhook(redirecting.url + "/hook", actor="ana", secret=SECRET, allow=LOOPBACK)
        timed_project(engine)
        with Worker(engine.store, allow=LOOPBACK) as worker:
            assert worker.drain().retry == 1
        assert target.got == []
    (row,) = [r for r in engine.outbox(reader="ana") if r.channel == "webhook"]
    assert row.last_error == "the receiver answered HTTP 307 (a redirect: phasegate follows none)"


# -- what is kept and shown -------------------------------------------------------------------------

ANSWER = "ANSWER-TEXT-a7f3"  # what the receivers say: it must appear nowhere phasegate keeps or shows


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.slow
def test_a_receivers_answer_is_never_stored_or_shown(db_url: str, transport: str) -> None:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.add_user("ana", actor="ana")
        e.add_user("dev", actor="ana")
        token = e.create_token(actor="ana", name="tests")[1]
        refusing = f"HTTP/1.1 500 Oops\r\nContent-Length: {len(ANSWER) + 7}\r\n\r\nsecret {ANSWER}".encode()
        with (raw_receiver(said(refusing)) as status_500,
              raw_receiver(said(f"SSH-2.0-OpenSSH_9.6 {ANSWER}\r\n".encode())) as not_http,
              raw_receiver(said(f"HTTP/1.1 200 OK\r\nX-Note: {ANSWER}\r\nContent-Length: 2\r\n\r\nok".encode()))
              as fine):
            for receiver in (status_500, not_http, fine):
                e.add_webhook(receiver.url + "/hook", actor="ana", secret=SECRET, allow=LOOPBACK)
            e.create_project("A-1", template="team-based", actor="ana")
            e.assign("A-1", "team", "dev", actor="ana")
            with Worker(e.store, allow=LOOPBACK) as worker:
                report = worker.drain()
            assert (report.delivered, report.retry) == (1, 2)
        errors = sorted(str(x.last_error) for x in e.outbox(reader="ana") if x.last_error)
        assert errors == ["RemoteProtocolError: the receiver's answer was not valid HTTP/1.1",
                          "the receiver answered HTTP 500"]
        assert ANSWER not in json.dumps(dump(e), default=str)
    with cli_session(db_url, transport) as run:
        for args in (("notify", "list"), ("notify", "list", "--failed")):
            for as_json in (False, True):
                shown = run(*args, as_json=as_json)
                assert shown.exit_code == 0 and "HTTP 500" in shown.stdout
                assert ANSWER not in shown.output
    with api(db_url) as client:
        listed = client.get("/api/v1/notifications", headers=bearer(token))
        assert listed.status_code == 200 and "HTTP 500" in listed.text and ANSWER not in listed.text


def test_old_answers_kept_before_this_version_are_wiped_by_the_migration(tmp_path: Path) -> None:
    """Rows from before 0009 kept the first 200 characters of an answer in last_error."""
    from sqlalchemy import create_engine, text

    from workflow.storage.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    from alembic import command

    command.upgrade(alembic_config(url=url), "0008")
    with create_engine(url).begin() as c:
        for n, error in enumerate([f"HTTP 500: {ANSWER}", "HTTP 404", f"RemoteProtocolError: illegal status "
                                   f"line: bytearray(b'{ANSWER}')", "ConnectError: [Errno 111] Connection refused"]):
            c.execute(text("INSERT INTO outbox (chain, seq, kind, people, channel, target, status, attempts, "
                           "next_attempt_at, last_error, created_at) VALUES ('P-1', :n, 'task', '[]', "
                           "'webhook', 'wh_x', 'dead', 8, 'x', :e, 'x')"), {"n": n + 1, "e": error})
    command.upgrade(alembic_config(url=url), "head")
    with create_engine(url).connect() as c:
        kept = [r[0] for r in c.execute(text("SELECT last_error FROM outbox ORDER BY id"))]
    assert kept == ["the receiver answered HTTP 500", "the receiver answered HTTP 404",
                    "RemoteProtocolError: the receiver's answer was not valid HTTP/1.1",
                    "ConnectError: [Errno 111] Connection refused"]


# -- the server's own sign-in -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_webhook_to_the_servers_own_sign_in_never_counts_as_a_failed_sign_in(db_url: str, tmp_path: Path
                                                                               ) -> None:
    """With the allow-list letting the server reach itself, its worker posts events to /signin and to
    /api/v1/me/session many times over the throttle's limit; a person then signs in from the same
    address at once."""
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.add_user("ana", actor="ana")
        e.set_password("ana", "correct horse battery", actor="ana")
        e.add_user("dev", actor="ana")
        with live_server(db_url, tmp_path / "server.log", "--tick-every", "0",
                         env={"PHASEGATE_WEBHOOK_ALLOW": "127.0.0.0/8"}) as server:
            for path in ("/signin", "/api/v1/me/session"):
                for form in ("json", "slack"):
                    e.add_webhook(server.url + path, actor="ana", secret=SECRET, format=form, allow=LOOPBACK)
            for n in range(4):  # 4 events x 4 webhooks: 16 posts, against a throttle from the 5th failure
                e.create_project(f"S-{n}", template="team-based", actor="ana")
                e.assign(f"S-{n}", "team", "dev", actor="ana")
            ends = time.monotonic() + 60
            while time.monotonic() < ends and any(x.attempts == 0 for x in e.outbox(reader="ana", limit=100)):
                time.sleep(0.1)
            sent = e.outbox(reader="ana", limit=100)
            assert len(sent) == 16 and all(x.attempts >= 1 for x in sent), server.log_text()[-2000:]
            with httpx.Client(base_url=server.url, timeout=30) as client:
                signed_in = client.post("/api/v1/me/session",
                                        json={"login": "ana", "password": "correct horse battery"})
                assert signed_in.status_code == 200, signed_in.text
                page = client.post("/signin", data={"login": "ana", "password": "correct horse battery"})
                assert page.status_code == 303, page.text
        with e.store.connect() as c:
            from sqlalchemy import select

            from workflow.storage.tables import sign_in_failures

            counted = c.execute(select(sign_in_failures).where(sign_in_failures.c.failures > 0)).all()
            assert counted == [], "a webhook's post was counted as a failed sign-in"

