"""The notification commands on the command line, over the database and through a server; the
worker inside ``phasegate serve``; and ``phasegate notify run`` killed with SIGKILL again and again
while commands run: every notification still reaches its receiver, none lost."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select
from support.apiclients import api, app_for, bearer, serving
from support.cli_runs import TRANSPORTS, cli_session
from support.receivers import http_receiver

import workflow
from workflow import Engine
from workflow.storage.tables import outbox as t_outbox

pytestmark = pytest.mark.slow  # notification commands through servers, and the worker killed again and again: 5.7 s a test (measured 2026-12-07)

SECRET = "a-long-enough-shared-secret"
TESTS = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.0/8"  # the local receivers, let in as an admin does with PHASEGATE_WEBHOOK_ALLOW
ALLOWED = (ipaddress.ip_network(LOOPBACK),)
ENV = {**os.environ, "PYTHONPATH": str(Path(workflow.__file__).resolve().parent.parent),
       "PHASEGATE_WEBHOOK_ALLOW": LOOPBACK}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_webhooks_email_choices_and_the_outbox_from_the_command_line(sqlite_url: str, transport: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
        e.add_user("dev", actor="ana", email="dev@example.com")
    with cli_session(sqlite_url, transport, webhook_allow=LOOPBACK) as run:
        added = run("webhook", "add", "http://127.0.0.1:9/x", "--events", "task,sign", "--secret-stdin",
                    input=SECRET + "\n", as_json=True)
        assert added.exit_code == 0, added.output
        hook = json.loads(added.stdout)
        assert "secret" not in hook and SECRET not in added.output
        listed = run("webhook", "list")
        assert listed.exit_code == 0 and hook["id"] in listed.stdout and SECRET not in listed.stdout
        assert hook["fingerprint"] in listed.stdout
        refused = run("webhook", "add", "http://127.0.0.1:9/y", actor="dev")
        assert refused.exit_code == 4 and "admin" in refused.stderr
        made = run("webhook", "add", "https://hooks.example.com/slack", "--format", "slack")
        assert made.exit_code == 0 and "not shown again" in made.stdout
        assert run("user", "notify", "dev", "--email", "sign", actor="dev").exit_code == 0
        bad = run("user", "notify", "dev", "--email", "sign,nope", actor="dev")
        assert bad.exit_code == 2 and "nope" in bad.stderr
        assert run("project", "create", "X-1", "--template", "team-based").exit_code == 0
        assert run("project", "assign", "X-1", "team", "dev").exit_code == 0
        entries = json.loads(run("notify", "list", as_json=True).stdout)
        hooks = [w["id"] for w in json.loads(run("webhook", "list", as_json=True).stdout)]
        assert sorted((x["channel"], x["target"]) for x in entries) == sorted(("webhook", h) for h in hooks)
        assert run("notify", "list", actor="dev").exit_code == 4
        assert "no notifications failed" in run("notify", "list", "--failed").stdout
        retried = run("notify", "retry", str(entries[0]["id"]))
        assert retried.exit_code == 0 and "sent again" in retried.stdout
        assert run("notify", "retry", "999").exit_code == 3
        removed = run("webhook", "remove", hook["id"])
        assert removed.exit_code == 0 and run("webhook", "remove", hook["id"]).exit_code == 1
        assert run("audit", "verify").exit_code == 0


def test_notify_run_once_says_why_emails_wait(sqlite_url: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
        e.add_user("dev", actor="ana", email="dev@example.com")
        e.create_project("X-1", template="team-based", actor="ana")
        e.assign("X-1", "team", "dev", actor="ana")
    with cli_session(sqlite_url, "direct") as run:
        result = run("notify", "run", "--once", env={"PHASEGATE_SMTP_URL": None, "PHASEGATE_MAIL_FROM": None})
        assert result.exit_code == 0, result.output
        assert "1 e-mail notification waiting" in result.stderr and "PHASEGATE_SMTP_URL" in result.stderr


def test_the_server_delivers_by_itself_and_not_with_no_deliver(sqlite_url: str) -> None:
    with Engine(sqlite_url) as e, http_receiver() as receiver:
        e.init(admin="ana")
        e.add_webhook(receiver.url + "/hook", actor="ana", secret=SECRET, allow=ALLOWED)
        e.create_project("X-1", template="team-based", actor="ana")
        e.add_user("dev", actor="ana")
        e.assign("X-1", "team", "dev", actor="ana")
        with serving(app_for(sqlite_url, deliver=False)):
            assert "phasegate-deliver" not in {t.name for t in threading.enumerate()}
        assert receiver.got == []
        with serving(app_for(sqlite_url, deliver=True, webhook_allow=(LOOPBACK,))):
            got = receiver.wait_for(1)
        assert len(got) == 1 and got[0].headers["x-phasegate-event"] == "X-1/2"


def _worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    # A short lease, so a killed worker's rows are taken over within the test; more than twice the
    # deadline, which is generous for a receiver answering in 50 ms on a loaded machine.
    command = [sys.executable, "-m", "workflow.cli", "--db", url, "notify", "run", "--lease", "7",
               "--deadline", "3", "--idle", "0.02", "--batch", "5", "--concurrency", "4"]
    with log.open("ab") as err:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=ENV)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_of_the_worker_while_commands_run_loses_no_notification(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    rng = random.Random(15)
    with Engine(url) as e, http_receiver(delay=0.05) as receiver:  # slow: kills land mid-send
        e.init(admin="ana")
        for n in range(3):
            e.add_user(f"p{n}", actor="ana")
        e.add_webhook(receiver.url + "/a", actor="ana", secret=SECRET, allow=ALLOWED)
        e.add_webhook(receiver.url + "/b", actor="ana", secret=SECRET, allow=ALLOWED)
        log = tmp_path / "worker.log"
        proc = _worker(url, log)
        kills, project = 0, 0
        deadline = time.monotonic() + 45  # bounded; a loaded machine starts each worker slower
        try:
            while kills < 8 and time.monotonic() < deadline:
                project += 1
                e.create_project(f"K-{project}", template="team-based", actor="ana")
                for n in range(3):
                    e.assign(f"K-{project}", "team", f"p{n}", actor="ana")
                seen = len(receiver.got)  # kill once this worker is sending (it takes ~1 s to start)
                started = time.monotonic()
                while len(receiver.got) == seen and time.monotonic() - started < 3:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.08))  # mid-batch, most often: sent but not settled
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = _worker(url, log)
            time.sleep(7.1)  # the last lease of a killed worker lapses; the live worker takes its rows
            with e.store.connect() as c:
                ids = [r[0] for r in c.execute(select(t_outbox.c.id))]
            waited = time.monotonic() + 15
            while time.monotonic() < waited:
                with e.store.connect() as c:
                    pending = c.execute(select(t_outbox.c.id).where(t_outbox.c.status != "delivered")).all()
                if not pending:
                    break
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert kills >= 5, "the loop killed the worker often enough"
        assert not pending, f"{len(pending)} notifications never delivered:\n{log.read_text()[-2000:]}"
        bodies: dict[str, set[bytes]] = defaultdict(set)
        for got in receiver.got:
            bodies[got.headers["x-phasegate-delivery"]].add(got.body)
    assert len(ids) >= 3 * kills
    assert sorted(int(i) for i in bodies) == sorted(ids), "every notification arrived, none unknown"
    assert all(len(b) == 1 for b in bodies.values()), "a duplicate is the same body under the same id"
    # Most runs also show the at-least-once case (a kill after sending, before settling): more
    # requests than notifications. Not asserted: where a kill lands is up to the scheduler.


def test_the_http_api_bounds_the_kinds_it_is_given(sqlite_url: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
        e.add_user("ana", actor="ana")
        token = e.create_token(actor="ana", name="tests")[1]
    hook = "http://127.0.0.1:9/hook"
    with api(sqlite_url, webhook_allow=(LOOPBACK,)) as client:
        too_long = client.post("/api/v1/webhooks", json={"url": hook, "events": ["x" * 40]}, headers=bearer(token))
        assert too_long.status_code == 422
        too_many = client.put("/api/v1/me/notifications", json={"email": ["task"] * 17}, headers=bearer(token))
        assert too_many.status_code == 422
        every = "task,sign,ready,rejected,remind,escalate,overdue"
        assert client.post("/api/v1/webhooks", json={"url": hook, "events": every},
                           headers=bearer(token)).status_code == 201
