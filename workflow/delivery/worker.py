"""The delivery loop: claim due notifications, send them side by side, settle what was sent.

``Worker(store).drain()`` sends what is due now and returns (``phasegate notify run --once``);
``run(stopping)`` goes on until ``stopping`` is set, waiting ``idle`` seconds when nothing is
due (``phasegate notify run``, and the thread of ``phasegate serve``). Any number of workers
may run against one database: the leases keep them from sending a row twice while one
holds it (:mod:`workflow.delivery.leases`). The time is the store's clock (``set_clock``),
so tests move it instead of waiting for a backoff.

One slow receiver holds only its own rows (the exposure review, issue 19). Rows are claimed
into a queue and each starts as soon as a connection is free, one send a task on the thread
pool. One receiver gets at most ``concurrency`` connections, and the worker keeps a quarter
more (at least one) that only the other receivers can use: a receiver that hangs on to all
it may get still leaves those free, and while it does, claims pass its rows by. Every send
ends by its deadline (:mod:`workflow.delivery.webhooks`), and a row not started within
``hold`` of its claim goes back unsent (no try counted), so a row is settled well inside its
lease: the lease is more than twice the deadline, ``hold`` is the lease less two deadlines
(one to send, one to spare for settling). What finished is settled a few at a time, not a
batch at a time: a healthy receiver's delivery is recorded while a slow one's is still under
way.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from workflow.delivery import backoff, leases
from workflow.delivery.leases import Claimed, Outcome
from workflow.delivery.mail import NOT_SET_UP, MailConfig, MailSender
from workflow.delivery.messages import DEFAULT_BASE_URL
from workflow.delivery.webhooks import DEADLINE_SECONDS, WebhookSender
from workflow.domain import addresses, limits
from workflow.domain.addresses import Network
from workflow.errors import UsageError
from workflow.storage.database import utcnow
from workflow.storage.store import Store

BASE_URL_ENV = "PHASEGATE_BASE_URL"
POLL_SECONDS = 0.5  # while sends are in flight, how often drain() looks for rows newly due
RESERVE = float(limits.WEBHOOK_OTHERS_RESERVE.default)  # a quarter of --concurrency more, for the others
SETTLE_AFTER_SECONDS = 0.1  # a finished send is settled within this (or with enough others, sooner)
_now = time.monotonic


@dataclass
class DeliveryReport:
    """What a worker did so far: rows claimed, delivered, to be retried, dead; e-mails left waiting."""

    claimed: int = 0
    delivered: int = 0
    retry: int = 0
    dead: int = 0
    mail_waiting: int = 0  # e-mail rows not claimed because e-mail is not set up
    notes: list[str] = field(default_factory=list)

    def add(self, counts: Mapping[str, int]) -> None:
        self.delivered += counts["delivered"]
        self.retry += counts["retry"]
        self.dead += counts["dead"]

    def to_dict(self) -> dict[str, object]:
        return {"claimed": self.claimed, "delivered": self.delivered, "retry": self.retry, "dead": self.dead,
                "mail_waiting": self.mail_waiting, "notes": list(self.notes)}


class Worker:
    def __init__(self, store: Store, *, mail: MailConfig | None = None, base_url: str | None = None,
                 batch: int = 200, concurrency: int = 16, lease_seconds: float | None = None,
                 max_attempts: int = backoff.MAX_ATTEMPTS, deadline: float = DEADLINE_SECONDS,
                 per_receiver: int | None = None, allow: Sequence[Network] = (),
                 ssl_context: ssl.SSLContext | None = None,
                 delay: Callable[[int], float] = backoff.retry_delay) -> None:
        """``deadline``: seconds one webhook delivery may take, all told; ``lease_seconds`` (default
        the larger of a minute and three deadlines) must be more than twice it. ``allow``: the
        internal networks webhooks may reach (``PHASEGATE_WEBHOOK_ALLOW``)."""
        if deadline <= 0:
            raise UsageError("the delivery deadline is a number of seconds above 0")
        if lease_seconds is None:
            lease_seconds = max(leases.LEASE_SECONDS, 3 * deadline)
        if lease_seconds <= 2 * deadline:
            raise UsageError(f"the lease ({lease_seconds:g} s) must be more than twice the delivery deadline "
                             f"({deadline:g} s): a notification is sent and settled while its worker holds "
                             f"it, or another worker sends it too; give a longer --lease or a shorter "
                             f"--deadline")
        self.store = store
        self.base_url = base_url or DEFAULT_BASE_URL
        self.batch, self.concurrency, self.lease_seconds = batch, concurrency, lease_seconds
        self.deadline, self.hold = deadline, lease_seconds - 2 * deadline
        # One receiver gets at most ``per_receiver`` connections; ``slots`` has room for others besides.
        self.per_receiver = per_receiver or concurrency
        self.slots = concurrency + max(1, int(concurrency * RESERVE))
        self.max_attempts, self.delay = max_attempts, delay
        self.webhooks = WebhookSender(self.base_url, concurrency=self.slots, deadline=deadline, allow=allow,
                                      ssl_context=ssl_context)
        self.mail = None if mail is None else MailSender(mail, self.base_url, timeout=max(deadline, 10.0))
        self.channels = ("webhook", "email") if mail is not None else ("webhook",)
        self.pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="phasegate-deliver")

    @classmethod
    def from_env(cls, store: Store, env: Mapping[str, str] | None = None, **options: Any) -> Worker:
        """A worker set up by ``PHASEGATE_SMTP_URL``, ``PHASEGATE_MAIL_FROM``, ``PHASEGATE_BASE_URL`` and
        ``PHASEGATE_WEBHOOK_ALLOW`` (``allow=`` given: that instead)."""
        env = os.environ if env is None else env
        if "allow" not in options:
            options["allow"] = addresses.allow_list(env.get(addresses.ALLOW_ENV))
        return cls(store, mail=MailConfig.from_env(env), base_url=env.get(BASE_URL_ENV) or None, **options)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.webhooks.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pump(self, report: DeliveryReport, stopping: threading.Event | None = None, *,
             idle: float = POLL_SECONDS) -> None:
        """Send until nothing is due, nothing queued and nothing in flight (or ``stopping`` is set);
        while something is in flight, look for newly due rows every ``idle`` seconds."""
        run = _Round(self, report, idle)
        while True:
            stop = stopping is not None and stopping.is_set()
            if not stop:
                run.claim()
            run.give_back(everything=stop)
            run.start()
            if not run.running:
                run.settle()
                if not run.held and (run.dry or stop):
                    return
                if not run.held:
                    continue
            run.wait()

    def drain(self) -> DeliveryReport:
        """Send until nothing is due now (rows waiting for a retry stay for later)."""
        report = DeliveryReport()
        self.pump(report)
        self._note_mail(report)
        return report

    def run(self, stopping: threading.Event, *, idle: float = 1.0,
            on_report: Callable[[DeliveryReport], None] | None = None) -> None:
        """Deliver until ``stopping`` is set; a round that sent something is reported to ``on_report``."""
        while not stopping.is_set():
            report = DeliveryReport()
            self.pump(report, stopping, idle=idle)
            if report.claimed and on_report is not None:
                on_report(report)
            stopping.wait(idle)

    def _note_mail(self, report: DeliveryReport) -> None:
        if self.mail is None:
            report.mail_waiting = leases.waiting(self.store, "email")
            if report.mail_waiting:
                report.notes.append(f"{report.mail_waiting} e-mail notification"
                                    f"{'s' if report.mail_waiting != 1 else ''} waiting: {NOT_SET_UP}")


Held = tuple[Claimed, float]  # a claimed row not started yet, and the moment it must start by


class _Round:
    """One :meth:`Worker.pump`: the rows claimed and not started, the sends in flight, how many go to each
    receiver, what finished and waits to be settled.

    Rows wait in claim order (so the moments they must start by only grow): ``queue`` has the rows not
    looked at yet; a webhook row whose receiver has all it may get is parked behind it (``parked``, one
    line a receiver) and starts, first, as soon as that receiver has room; e-mails wait to go together
    (``mails``). Every step looks only at the heads of these lines.
    """

    def __init__(self, worker: Worker, report: DeliveryReport, idle: float) -> None:
        self.w, self.report, self.idle = worker, report, idle
        self.queue: deque[Held] = deque()
        self.parked: dict[str, deque[Held]] = {}
        self.mails: list[Held] = []
        self.running: dict[Future[list[Outcome]], list[Claimed]] = {}
        self.busy: Counter[str] = Counter()  # webhook id -> its sends in flight
        self.finished: list[Outcome] = []
        self.settle_by: float | None = None  # when what finished is settled at the latest
        self.dry = False  # the last claim found nothing due
        self.claim_after = 0.0
        # (the receivers the last claim passed by, whether it found nothing else) and until when that holds
        self.passed_by: tuple[frozenset[str], bool] = (frozenset(), False)
        self.passed_by_until = 0.0

    @property
    def held(self) -> int:
        return len(self.queue) + sum(len(line) for line in self.parked.values()) + len(self.mails)

    def _full(self, target: str) -> bool:
        return self.busy[target] >= self.w.per_receiver

    def claim(self) -> None:
        """More rows, when fewer than there are connections wait to start. A receiver with all the
        connections it may get and a connection's worth of rows parked is passed by (its rows stay due
        for later, or for another worker); if nothing else is due, look again after ``idle``."""
        now = _now()
        room = 2 * self.w.batch - self.held
        if room <= 0 or now < self.claim_after:
            return
        stocked = frozenset(target for target, line in self.parked.items()
                            if self._full(target) and len(line) >= self.w.slots)
        waiting = len(self.queue) + sum(len(line) for target, line in self.parked.items()
                                        if target not in stocked)
        if waiting >= self.w.slots or (stocked and self.passed_by == (stocked, True)
                                             and now < self.passed_by_until):
            return
        rows = leases.claim(self.w.store, utcnow(), limit=min(self.w.batch, room), channels=self.w.channels,
                            lease_seconds=self.w.lease_seconds, skip=stocked)
        self.report.claimed += len(rows)
        self.queue.extend((row, now + self.w.hold) for row in rows)
        self.dry = not rows and not stocked
        self.claim_after = now + self.idle if self.dry else 0.0
        self.passed_by = (stocked, not rows)
        self.passed_by_until = now + self.idle

    def give_back(self, *, everything: bool = False) -> None:
        """Rows that could not start in time (all of them when stopping) go back unsent."""
        now = _now()
        late: list[Claimed] = []
        for line in (self.queue, *self.parked.values()):
            while line and (everything or line[0][1] <= now):
                late.append(line.popleft()[0])
        if self.mails and (everything or min(by for _row, by in self.mails) <= now):
            late += [row for row, _by in self.mails]
            self.mails = []
        if late:
            self._finished([Outcome(row, sent=False) for row in late])
            if not everything:  # they are due again: look once more
                self.dry, self.claim_after = False, 0.0

    def start(self) -> None:
        """Start what may start: a send a free connection, at most ``per_receiver`` to one receiver, the
        e-mails over one connection; the longest waiting first."""
        free = self.w.slots - len(self.running)
        for target, line in list(self.parked.items()):
            while free > 0 and line and not self._full(target):
                self._start(line.popleft()[0])
                free -= 1
            if not line:
                del self.parked[target]
        while free > 0 and self.queue:
            held = self.queue.popleft()
            row = held[0]
            if row.channel == "email":
                self.mails.append(held)
            elif self._full(row.target):
                self.parked.setdefault(row.target, deque()).append(held)
            else:
                self._start(row)
                free -= 1
        if self.mails and free > 0 and self.w.mail is not None:
            rows = [row for row, _by in self.mails]
            start_by = min(by for _row, by in self.mails)
            self.running[self.w.pool.submit(self.w.mail.send_all, rows, start_by)] = rows
            self.mails = []

    def _start(self, row: Claimed) -> None:
        self.running[self.w.pool.submit(self._send, row)] = [row]
        self.busy[row.target] += 1

    def _send(self, row: Claimed) -> list[Outcome]:
        return [self.w.webhooks.send(row)]

    def wait(self) -> None:
        """Until a send ends, a waiting row's time to start runs out, what finished is due to be settled,
        or (nothing due at the last look) it is time to look again."""
        now = _now()
        moments = [line[0][1] for line in (self.queue, *self.parked.values()) if line]
        moments += [by for _row, by in self.mails[:1]]
        if self.settle_by is not None:
            moments.append(self.settle_by)
        if self.dry:
            moments.append(self.claim_after)
        if self.passed_by[1]:
            moments.append(self.passed_by_until)
        timeout = max(0.0, min(moments) - now) if moments else None
        done, _pending = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            for row in self.running.pop(future):
                if row.channel == "webhook":
                    self.busy[row.target] -= 1
            self._finished(future.result())
        if self.finished and (len(self.finished) >= max(self.w.slots, self.w.batch // 2)
                              or not self.running or _now() >= (self.settle_by or 0.0)):
            self.settle()

    def _finished(self, outcomes: list[Outcome]) -> None:
        if outcomes and not self.finished:
            self.settle_by = _now() + SETTLE_AFTER_SECONDS
        self.finished += outcomes

    def settle(self) -> None:
        if self.finished:
            self.report.add(leases.settle(self.w.store, self.finished, utcnow(),
                                          max_attempts=self.w.max_attempts, delay=self.w.delay))
            self.finished, self.settle_by = [], None
