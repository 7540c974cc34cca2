"""The delivery loop: claim due notifications, send them side by side, settle what was sent.

``Worker(store).drain()`` sends what is due now and returns (``phasegate notify run --once``);
``run(stopping)`` goes on until ``stopping`` is set, waiting ``idle`` seconds when nothing is
due (``phasegate notify run``, and the thread of ``phasegate serve``). Any number of workers
may run against one database: the leases keep them from sending a row twice while one
holds it (:mod:`workflow.delivery.leases`). The time is the store's clock (``set_clock``),
so tests move it instead of waiting for a backoff.

One slow receiver holds only its own rows (the exposure review, issue 19). The worker's loop
claims rows into a queue, gives back what could not start in time and settles what finished;
its sending threads take the next row themselves, the longest waiting first, each as soon as
it is free (so sends never wait for the loop, which claims and settles meanwhile). One
receiver gets at most ``concurrency`` threads and connections, and the worker keeps a quarter
more (at least one) that only the other receivers can use: a receiver that hangs on to all it
may get still leaves those free, its further rows wait parked, and claims pass it by once it
has a connection's worth waiting. Every send ends by its deadline
(:mod:`workflow.delivery.webhooks`), and a row not started within ``hold`` of its claim goes
back unsent (no try counted), so a row is settled well inside its lease: the lease is more
than twice the deadline, ``hold`` is the lease less two deadlines (one to send, one to spare
for settling). What finished is settled a few at a time (within ``SETTLE_AFTER_SECONDS``), not
a batch at a time: a healthy receiver's delivery is recorded while a slow one's is under way.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow import settings
from workflow.delivery import backoff, leases
from workflow.delivery.leases import Claimed, Outcome
from workflow.delivery.mail import NOT_SET_UP, MailConfig, MailSender
from workflow.delivery.messages import DEFAULT_BASE_URL
from workflow.delivery.webhooks import DEADLINE_SECONDS, WebhookSender
from workflow.domain import limits
from workflow.domain.notify import addresses
from workflow.domain.notify.addresses import Network
from workflow.errors import UsageError
from workflow.storage.database import utcnow
from workflow.storage.store import Store

BASE_URL_ENV = settings.BASE_URL
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
        self.settle_after = min(SETTLE_AFTER_SECONDS, deadline / 2)
        # One receiver gets at most ``per_receiver`` threads; ``slots`` has room for the others besides.
        self.per_receiver = per_receiver or concurrency
        self.slots = concurrency + max(1, int(concurrency * RESERVE))
        self.max_attempts, self.delay = max_attempts, delay
        self.webhooks = WebhookSender(self.base_url, concurrency=self.slots, deadline=deadline, allow=allow,
                                      ssl_context=ssl_context)
        self.mail = None if mail is None else MailSender(mail, self.base_url, timeout=max(deadline, 10.0))
        self.channels = ("webhook", "email") if mail is not None else ("webhook",)
        lock = threading.Lock()
        self._work = threading.Condition(lock)  # the sending threads wait on it for rows
        self._news = threading.Condition(lock)  # the loop waits on it for what the threads did
        self._round: _Round | None = None
        self._closing = False
        self._threads = [threading.Thread(target=self._serve, name=f"phasegate-deliver-{n}", daemon=True)
                         for n in range(self.slots)]
        for thread in self._threads:
            thread.start()

    @classmethod
    def from_env(cls, store: Store, env: Mapping[str, str] | None = None, **options: Any) -> Worker:
        """A worker set up by ``PHASEGATE_SMTP_URL``, ``PHASEGATE_MAIL_FROM``, ``PHASEGATE_BASE_URL`` and
        ``PHASEGATE_WEBHOOK_ALLOW`` (``allow=`` given: that instead)."""
        found = settings.read(env)  # None: this process's environment
        if "allow" not in options:
            options["allow"] = addresses.allow_list(found.webhook_allow)
        return cls(store, mail=MailConfig.from_settings(found), base_url=found.base_url, **options)

    def close(self) -> None:
        with self._work:
            self._closing = True
            self._work.notify_all()
        for thread in self._threads:
            thread.join()
        self.webhooks.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the sending threads ---------------------------------------------------------------------------

    def _serve(self) -> None:
        """A sending thread: take the next row that may start, send it, hand in what it did."""
        while True:
            with self._work:
                while True:
                    if self._closing:
                        return
                    run = self._round
                    job = None if run is None else run.take()
                    if job is not None:
                        break
                    self._work.wait()
            assert run is not None
            rows, start_by = job
            try:
                if rows[0].channel == "email":
                    assert self.mail is not None
                    outcomes = self.mail.send_all(rows, start_by)
                else:
                    outcomes = [self.webhooks.send(rows[0])]
            except Exception as exc:  # a bug, not a receiver's failure: the loop raises it
                outcomes, run.error = [], exc
            with self._work:
                run.done(rows, outcomes)

    # -- the loop --------------------------------------------------------------------------------------

    def pump(self, report: DeliveryReport, stopping: threading.Event | None = None, *,
             idle: float = POLL_SECONDS) -> None:
        """Send until nothing is due, nothing waits and nothing is in flight (or ``stopping`` is set);
        while something is in flight, look for newly due rows every ``idle`` seconds."""
        run = _Round(self, report, idle)
        with self._work:
            self._round = run
        try:
            while True:
                with self._work:
                    if run.error is not None:
                        raise run.error
                    stop = stopping is not None and stopping.is_set()
                    run.give_back(everything=stop)
                    wanted = None if stop else run.wanted()
                if wanted is not None:
                    limit, skip = wanted
                    rows = leases.claim(self.store, utcnow(), limit=limit, channels=self.channels,
                                        lease_seconds=self.lease_seconds, skip=skip)
                    with self._work:
                        run.add(rows, skip)
                with self._work:
                    finished = run.to_settle(everything=stop or run.quiet)
                if finished:
                    report.add(leases.settle(self.store, finished, utcnow(), max_attempts=self.max_attempts,
                                             delay=self.delay))
                    continue
                with self._work:
                    if run.quiet and not run.finished and (run.dry or stop):
                        return
                    if wanted is None:
                        self._news.wait(run.timeout())
        finally:
            with self._work:
                self._round = None

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
    """One :meth:`Worker.pump`: the rows claimed and not started, the sends in flight and to which
    receiver, what finished and waits to be settled. Every method is called holding the worker's lock.

    Rows wait in claim order (so the moments they must start by only grow): ``queue`` has the rows no
    thread has looked at yet; a webhook row whose receiver has all the threads it may get is parked
    (``parked``, one line a receiver) and starts, first, as soon as that receiver has room; e-mails
    wait to go together (``mails``). Every step looks only at the heads of these lines.
    """

    def __init__(self, worker: Worker, report: DeliveryReport, idle: float) -> None:
        self.w, self.report, self.idle = worker, report, idle
        self.queue: deque[Held] = deque()
        self.parked: dict[str, deque[Held]] = {}
        self.mails: list[Held] = []
        self.running = 0
        self.busy: Counter[str] = Counter()  # webhook id -> its sends in flight
        self.finished: list[Outcome] = []
        self.settle_by: float | None = None  # when what finished is settled at the latest
        self.dry = False  # the last claim found nothing due
        self.claim_after = 0.0  # after a claim found nothing: when to look again
        self.passed: frozenset[str] = frozenset()  # the receivers the last claim passed by
        self.asked = False  # a thread woke the loop to claim, and it has not claimed since
        self.error: Exception | None = None

    @property
    def held(self) -> int:
        return len(self.queue) + sum(len(line) for line in self.parked.values()) + len(self.mails)

    @property
    def quiet(self) -> bool:
        """Nothing waits to start and nothing is in flight."""
        return not self.running and not self.held

    def _full(self, target: str) -> bool:
        return self.busy[target] >= self.w.per_receiver

    # -- the loop's side

    def wanted(self) -> tuple[int, frozenset[str]] | None:
        """(how many rows, which receivers to pass by) when the loop should claim more: fewer rows wait
        that could start than half a batch (or than there are threads). A receiver with all the threads
        it may get and a thread's worth of rows parked is passed by (its rows stay due, for later or for
        another worker). After a claim found nothing, the next waits ``idle``, unless the receivers to
        pass by are fewer now."""
        room = 2 * self.w.batch - self.held
        if room <= 0:
            return None
        stocked = frozenset(target for target, line in self.parked.items()
                            if self._full(target) and len(line) >= self.w.slots)
        if _now() < self.claim_after and (self.dry or stocked >= self.passed):
            return None
        waiting = len(self.queue) + sum(len(line) for target, line in self.parked.items()
                                        if target not in stocked)
        if waiting >= max(self.w.slots, self.w.batch // 2):
            return None
        return min(self.w.batch, room), stocked

    def add(self, rows: list[Claimed], skipped: frozenset[str]) -> None:
        now = _now()
        self.report.claimed += len(rows)
        self.queue.extend((row, now + self.w.hold) for row in rows)
        self.dry, self.passed, self.asked = not rows and not skipped, skipped, False
        self.claim_after = now + self.idle if not rows else 0.0
        if rows:
            self.w._work.notify(len(rows))

    def _ask(self) -> None:
        """Wake the loop (once until it claims) when it should claim more."""
        if not self.asked and self.wanted() is not None:
            self.asked = True
            self.w._news.notify()

    def give_back(self, *, everything: bool = False) -> None:
        """Rows that could not start in time (all of them when stopping) go back unsent."""
        now = _now()
        late: list[Claimed] = []
        for line in (self.queue, *self.parked.values()):
            while line and (everything or line[0][1] <= now):
                late.append(line.popleft()[0])
        if self.mails and (everything or self.mails[0][1] <= now):
            late += [row for row, _by in self.mails]
            self.mails = []
        if late:
            self._finished([Outcome(row, sent=False) for row in late])
            if not everything:  # they are due again: look once more
                self.dry, self.claim_after = False, 0.0

    def to_settle(self, *, everything: bool) -> list[Outcome]:
        """What finished, once enough has or the oldest has waited ``settle_after`` (or ``everything``)."""
        if not self.finished or not (everything or len(self.finished) >= max(self.w.slots, self.w.batch // 2)
                                     or _now() >= (self.settle_by or 0.0)):
            return []
        finished, self.finished, self.settle_by = self.finished, [], None
        return finished

    def timeout(self) -> float | None:
        """How long the loop may wait for news: until a waiting row's time to start runs out, what
        finished is due to be settled, or (nothing due at the last look) it is time to look again."""
        moments = [line[0][1] for line in (self.queue, *self.parked.values()) if line]
        moments += [by for _row, by in self.mails[:1]]
        if self.settle_by is not None:
            moments.append(self.settle_by)
        if self.claim_after:
            moments.append(self.claim_after)
        return max(0.0, min(moments) - _now()) if moments else None

    # -- the sending threads' side

    def take(self) -> tuple[list[Claimed], float] | None:
        """The next send a free thread may start, the longest waiting first: a row (at most
        ``per_receiver`` to one receiver), or the e-mails together; None: nothing may start now. A row
        whose time to start ran out goes back unsent instead."""
        now = _now()
        for target, line in list(self.parked.items()):
            while line and not self._full(target):
                held = line.popleft()
                if held[1] > now:
                    return self._start(held)
                self._finished([Outcome(held[0], sent=False)])
            if not line:
                del self.parked[target]
        while self.queue:
            held = self.queue.popleft()
            row = held[0]
            if held[1] <= now:
                self._finished([Outcome(row, sent=False)])
            elif row.channel == "email":
                self.mails.append(held)
            elif self._full(row.target):
                self.parked.setdefault(row.target, deque()).append(held)
            else:
                return self._start(held)
        if self.mails and self.w.mail is not None:
            mails, self.mails = self.mails, []
            self.running += 1
            return [row for row, _by in mails], min(by for _row, by in mails)
        return None

    def _start(self, held: Held) -> tuple[list[Claimed], float]:
        row, by = held
        self.busy[row.target] += 1
        self.running += 1
        self._ask()
        return [row], by

    def done(self, rows: list[Claimed], outcomes: list[Outcome]) -> None:
        self.running -= 1
        if rows[0].channel == "webhook":
            self.busy[rows[0].target] -= 1  # its parked rows may start: this thread takes the next
        self._finished(outcomes)
        if self.quiet or len(self.finished) >= max(self.w.slots, self.w.batch // 2) or self.error:
            self.w._news.notify()

    def _finished(self, outcomes: list[Outcome]) -> None:
        if outcomes and not self.finished:
            self.settle_by = _now() + self.w.settle_after
            self.w._news.notify()  # so the loop waits no longer than that
        self.finished += outcomes
