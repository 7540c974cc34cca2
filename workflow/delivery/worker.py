"""The delivery loop: claim a batch of due notifications, send them concurrently, settle them.

``Worker(store).drain()`` sends what is due now and returns (``phasegate notify run --once``);
``run(stopping)`` goes on until ``stopping`` is set, waiting ``idle`` seconds when nothing is
due (``phasegate notify run``, and the thread of ``phasegate serve``). Any number of workers
may run against one database: the leases keep them from sending a row twice while one
holds it (:mod:`workflow.delivery.leases`). The time is the store's clock (``set_clock``),
so tests move it instead of waiting for a backoff.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from workflow.delivery import backoff, leases
from workflow.delivery.leases import Claimed, Outcome
from workflow.delivery.mail import NOT_SET_UP, MailConfig, MailSender
from workflow.delivery.messages import DEFAULT_BASE_URL
from workflow.delivery.webhooks import WebhookSender
from workflow.storage.database import utcnow
from workflow.storage.store import Store

BASE_URL_ENV = "PHASEGATE_BASE_URL"


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
                 max_attempts: int = backoff.MAX_ATTEMPTS, timeout: float = 10.0,
                 delay: Callable[[int], float] = backoff.retry_delay) -> None:
        self.store = store
        self.base_url = base_url or DEFAULT_BASE_URL
        if lease_seconds is None:
            # The next batch is claimed while one is sent: its lease must outlast both sends even when
            # every request runs into its timeouts (connect + read), or another worker sends it too.
            rounds = -(-batch // concurrency)
            lease_seconds = max(leases.LEASE_SECONDS, 2 * rounds * (min(timeout, 5.0) + timeout))
        self.batch, self.lease_seconds = batch, lease_seconds
        self.max_attempts, self.delay = max_attempts, delay
        self.webhooks = WebhookSender(self.base_url, concurrency=concurrency, timeout=timeout)
        self.mail = None if mail is None else MailSender(mail, self.base_url, timeout=max(timeout, 10.0))
        self.channels = ("webhook", "email") if mail is not None else ("webhook",)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="phasegate-deliver")

    @classmethod
    def from_env(cls, store: Store, env: Mapping[str, str] | None = None, **options: object) -> Worker:
        """A worker set up by ``PHASEGATE_SMTP_URL``, ``PHASEGATE_MAIL_FROM`` and ``PHASEGATE_BASE_URL``."""
        env = os.environ if env is None else env
        return cls(store, mail=MailConfig.from_env(env), base_url=env.get(BASE_URL_ENV) or None,
                   **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.webhooks.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _claim(self) -> list[Claimed]:
        return leases.claim(self.store, utcnow(), limit=self.batch, channels=self.channels,
                            lease_seconds=self.lease_seconds)

    def _settle(self, outcomes: list[Outcome], report: DeliveryReport) -> None:
        report.add(leases.settle(self.store, outcomes, utcnow(), max_attempts=self.max_attempts,
                                 delay=self.delay))

    def deliver_batch(self, report: DeliveryReport | None = None) -> DeliveryReport:
        """Claim one batch of what is due now, send it, settle it."""
        report = report or DeliveryReport()
        rows = self._claim()
        report.claimed += len(rows)
        if rows:
            self._settle(self.send(rows), report)
        return report

    def _submit(self, rows: list[Claimed]) -> list[Future[list[Outcome]]]:
        """Start sending ``rows``: the webhooks one a task on the pool, the e-mails over one connection."""
        mails = [r for r in rows if r.channel == "email"]
        started = [self.pool.submit(self._one, r) for r in rows if r.channel == "webhook"]
        if mails and self.mail is not None:
            started.append(self.pool.submit(self.mail.send_all, mails))
        return started

    def _one(self, row: Claimed) -> list[Outcome]:
        return [self.webhooks.send(row)]

    def send(self, rows: list[Claimed]) -> list[Outcome]:
        """Every row's send, the webhooks side by side on the pool, the e-mails over one connection."""
        return [out for f in self._submit(rows) for out in f.result()]

    def pump(self, report: DeliveryReport, stopping: threading.Event | None = None) -> None:
        """Batches back to back until none is due (or ``stopping`` is set), the database's work overlapping
        the network's: the next batch is claimed while one is sent, and a batch is settled while the next
        is sent."""
        rows = self._claim()
        report.claimed += len(rows)
        sending = self._submit(rows)
        while rows:
            following = [] if stopping is not None and stopping.is_set() else self._claim()
            report.claimed += len(following)
            outcomes = [out for f in sending for out in f.result()]
            sending = self._submit(following)
            self._settle(outcomes, report)
            rows = following

    def drain(self) -> DeliveryReport:
        """Send batches until nothing is due now (rows waiting for a retry stay for later)."""
        report = DeliveryReport()
        self.pump(report)
        self._note_mail(report)
        return report

    def run(self, stopping: threading.Event, *, idle: float = 1.0,
            on_report: Callable[[DeliveryReport], None] | None = None) -> None:
        """Deliver until ``stopping`` is set; a round that sent something is reported to ``on_report``."""
        while not stopping.is_set():
            report = DeliveryReport()
            self.pump(report, stopping)
            if report.claimed and on_report is not None:
                on_report(report)
            stopping.wait(idle)

    def _note_mail(self, report: DeliveryReport) -> None:
        if self.mail is None:
            report.mail_waiting = leases.waiting(self.store, "email")
            if report.mail_waiting:
                report.notes.append(f"{report.mail_waiting} e-mail notification"
                                    f"{'s' if report.mail_waiting != 1 else ''} waiting: {NOT_SET_UP}")
