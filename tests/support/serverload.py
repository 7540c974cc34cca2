"""Clients that write to a live ``phasegate serve`` over HTTP, for the kill -9 and shutdown tests.

Each client is a thread with its own project, its own three people and their API tokens,
and one keep-alive ``httpx`` connection. It walks its project through the phases of a long
template (task done x3, approve x2, advance), one command at a time, each with an
``Idempotency-Key``. When the connection breaks (the server was killed or is stopping) it
sends the same request again, with the same key, until it gets an answer: a command that
was committed before the break answers with its first outcome, one that was not is
applied now, so nothing is applied twice. Every answer is recorded: what a user was told.

``check_server_history`` then holds the database to the answers: every request answered
2xx has its event stored, each client's chain is exactly the events of its answered keys
(nothing applied twice, nothing applied that nobody asked for), every chain verifies and
every project's state equals the replay of its history (tests/support/invariants.py).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from support.invariants import assert_consistent, event_keys
from workflow import Engine
from workflow.storage.tables import events, requests

ADMIN = "root"
ROLES = ("lead", "dev", "qa")


def long_template(phases: int) -> str:
    """A template of ``phases`` gated phases: three tasks, two approvals, one advance each."""
    lines = ["key: long-flow", "title: A long flow", "roles:", "  lead: {title: Lead}", "  dev: {title: Dev}",
             "  qa: {title: QA}", "lead: lead", "phases:"]
    for i in range(1, phases + 1):
        lines += [f"  - key: p{i:03d}", f"    title: Phase {i}",
                  f"    tasks: {{lead: Plan {i}, dev: Build {i}, qa: Test {i}}}",
                  f"    gate: {{title: Sign-off {i}, approvers: [lead, qa], required: all, distinct_people: true}}"]
    return "\n".join(lines) + "\n"


@dataclass
class Answer:
    key: str
    status: int
    event: dict[str, Any] | None  # (for a 2xx) the event the server answered with
    tries: int
    sent: float  # time.monotonic() when the last try was sent, and when its answer came
    answered: float


@dataclass
class Client:
    """One person-team's client: writes to its own project until told to stop."""

    index: int
    url: str
    code: str
    tokens: dict[str, str]  # role -> its holder's token
    setup_seq: int = 0  # the project's last event before the load
    answers: list[Answer] = field(default_factory=list)
    broken: int = 0  # transport errors (connection refused or reset): the kills
    unexpected: list[str] = field(default_factory=list)
    retry_after_stop: bool = True  # False: once told to stop, a broken request is left unanswered
    unanswered: str | None = None  # the key of such a request (it may or may not have been applied)
    thread: threading.Thread | None = None

    def commands(self) -> Any:
        """(role, method path, body) of every command of the walk, in order, for ever."""
        base = f"/api/v1/projects/{self.code}"
        while True:
            yield "lead", f"{base}/tasks/lead/done", {"note": "planned"}
            yield "dev", f"{base}/tasks/dev/done", {}
            yield "qa", f"{base}/tasks/qa/done", {"note": "tests green"}
            yield "lead", f"{base}/approvals", {"role": "lead", "comment": "ok"}
            yield "qa", f"{base}/approvals", {"role": "qa"}
            yield "lead", f"{base}/advance", {}

    def run(self, stop: threading.Event, deadline: float, limit: int) -> None:
        http = {role: httpx.Client(base_url=self.url, timeout=20,
                                   headers={"Authorization": f"Bearer {token}"})
                for role, token in self.tokens.items()}
        try:
            for n, (role, path, body) in enumerate(self.commands()):
                if stop.is_set() or n >= limit or time.monotonic() > deadline:
                    return
                key = f"{self.code}-{n}"
                answer = self.send(http[role], path, body, key, deadline + 30, stop)
                if answer is None and self.unanswered is not None:
                    return
                if answer is None:
                    self.unexpected.append(f"{key}: no answer before the deadline")
                    return
                self.answers.append(answer)
                if not 200 <= answer.status < 300:
                    return  # a refusal would stop the walk; the test reports it
        except Exception as exc:  # the test reports anything unexpected, in the main thread
            self.unexpected.append(f"{type(exc).__name__}: {exc}")
        finally:
            for c in http.values():
                c.close()

    def send(self, http: httpx.Client, path: str, body: dict[str, Any], key: str,
             give_up: float, stop: threading.Event) -> Answer | None:
        tries = 0
        while time.monotonic() < give_up:
            tries += 1
            sent = time.monotonic()
            try:
                r = http.post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                self.broken += 1
                if stop.is_set() and not self.retry_after_stop:
                    self.unanswered = key
                    return None
                time.sleep(0.02)
                continue  # the same request, the same key
            if r.status_code >= 500:
                self.unexpected.append(f"{key}: {r.status_code} {r.text[:300]}")
            event = r.json() if 200 <= r.status_code < 300 else None
            if event is None:
                self.unexpected.append(f"{key}: {r.status_code} {r.text[:300]}")
            return Answer(key, r.status_code, event, tries, sent, time.monotonic())
        return None


def set_up_clients(engine: Engine, url: str, count: int, phases: int) -> list[Client]:
    """``count`` projects on a ``phases``-phase template, each with its own three people and tokens."""
    engine.init(admin=ADMIN)
    engine.publish_template(long_template(phases), actor=ADMIN)
    clients = []
    for i in range(count):
        code = f"LOAD-{i}"
        engine.create_project(code, template="long-flow", actor=ADMIN)
        tokens = {}
        for role in ROLES:
            person = f"{role}-{i}"
            engine.add_user(person, actor=ADMIN)
            event = engine.assign(code, role, person, actor=ADMIN)
            tokens[role] = engine.create_token(actor=person, name="load")[1]
        clients.append(Client(i, url, code, tokens, setup_seq=event.seq))
    return clients


def start(clients: list[Client], stop: threading.Event, seconds: float, limit: int) -> None:
    deadline = time.monotonic() + seconds
    for c in clients:
        c.thread = threading.Thread(target=c.run, args=(stop, deadline, limit), daemon=True)
        c.thread.start()


def join(clients: list[Client], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for c in clients:
        assert c.thread is not None
        c.thread.join(max(0.1, deadline - time.monotonic()))
        assert not c.thread.is_alive(), f"client {c.index} did not finish"


def check_server_history(engine: Engine, clients: list[Client]) -> int:
    """The database against what the clients were told; returns the number of answered commands."""
    problems = [p for c in clients for p in c.unexpected]
    assert not problems, "only 2xx answers (and broken connections) during the load:\n" + "\n".join(problems[:10])
    assert_consistent(engine)
    stored = event_keys(engine)
    acked = 0
    with engine.store.connect() as conn:
        outcomes = {r.request_id: json.loads(r.outcome)
                    for r in conn.execute(select(requests.c.request_id, requests.c.outcome))}
        for c in clients:
            answered = {}
            for a in c.answers:
                assert a.event is not None
                key = (a.event["chain"], a.event["seq"], a.event["hash"])
                assert key in stored, f"{a.key} was answered {a.status} but its event is not in the history"
                assert outcomes[a.key]["hash"] == a.event["hash"], f"{a.key}: stored outcome differs"
                answered[a.event["seq"]] = a.key
            assert len(answered) == len(c.answers), f"{c.code}: two answers named one event"
            chain = [r.seq for r in conn.execute(select(events.c.seq).where(events.c.chain == c.code)
                                                 .order_by(events.c.seq))]
            after = [s for s in chain if s > c.setup_seq]
            if c.unanswered is not None and c.unanswered in outcomes:  # applied, its answer lost
                answered[outcomes[c.unanswered]["seq"]] = c.unanswered
            # Each event after the set-up is one answered key's, and each key has one event: a
            # retried request was not applied twice, and nothing was applied that was not asked for.
            assert after == sorted(answered), (
                f"{c.code}: events {after[:10]}... are not the answered commands {sorted(answered)[:10]}..."
            )
            acked += len(c.answers)
    return acked
