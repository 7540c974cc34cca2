"""Claiming due outbox rows under a lease, and settling what was sent.

A claim is one write transaction: the due rows (``pending``, ``next_attempt_at`` passed)
get ``lease_until`` = now + the lease, and ``next_attempt_at`` moves to the same moment, so
while the lease holds no other worker's claim finds them (the index on ``(status,
next_attempt_at)`` is the only one a claim reads). PostgreSQL takes the rows ``FOR UPDATE
SKIP LOCKED``: workers on any number of hosts claim disjoint batches without waiting on
each other. SQLite has one writer at a time (``BEGIN IMMEDIATE``), so a claim is an UPDATE
of rows whose lease has lapsed.

A worker killed mid-send leaves its rows leased; when the lease lapses they are due again
and the next claim takes them: at least once, never lost. A delivery that reaches the
receiver twice carries the same outbox id (``X-Phasegate-Delivery``) both times.

Settling: a delivered row is ``delivered`` (even if its lease lapsed meanwhile: it did
reach its receiver); a failed one counts the try, keeps the error and waits
(:mod:`workflow.delivery.backoff`), or is ``dead`` after the last try. A failure is
recorded only while the worker still holds the lease it claimed, so a slow worker
cannot undo what a later claim of the same row did. A row the worker could not start in
time goes back as it was (due again, its tries and last error untouched): it was not sent.
A row's ``last_error`` is phasegate's sentence (a status code, a timeout, a refused
address), never what a receiver answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update

from workflow.domain.audit.events import Event
from workflow.domain.inputs import later
from workflow.storage.store import Store
from workflow.storage.tables import events as t_events
from workflow.storage.tables import outbox as t_outbox
from workflow.storage.tables import people as t_people
from workflow.storage.tables import webhooks as t_webhooks
from workflow.storage.transaction import WriteTx

LEASE_SECONDS = 60.0
ERROR_MAX = 1000  # characters of phasegate's sentence for a failure kept in last_error (never an answer's)

_o, _e, _w = t_outbox.c, t_events.c, t_webhooks.c


@dataclass(frozen=True)
class Hook:
    """The webhook a row goes to, as the row was claimed (None in :class:`Claimed`: removed)."""

    id: str
    url: str
    secret: str
    format: str
    active: bool


@dataclass(frozen=True)
class Claimed:
    """One outbox row a worker holds the lease of, with the event it is about."""

    id: int
    kind: str
    people: tuple[str, ...]
    channel: str
    target: str
    attempts: int
    lease: str  # this claim's lease_until: the token a failure is settled with
    event: Event
    hook: Hook | None
    disabled: bool = False  # an e-mail whose recipient's account was disabled since it was queued
    payload: str | None = field(default=None, repr=False)  # the secret an invitation's or a code's carries


@dataclass(frozen=True)
class Outcome:
    """What one send did: delivered (``error`` None), failed and worth trying again, or failed for good;
    or, ``sent`` False, nothing: the row could not be started in time and goes back as it was."""

    row: Claimed
    error: str | None = None
    permanent: bool = False
    sent: bool = True


def claim(store: Store, now: str, *, limit: int, channels: Sequence[str],
          lease_seconds: float = LEASE_SECONDS, skip: Collection[str] = ()) -> list[Claimed]:
    """Lease up to ``limit`` due rows of ``channels``, oldest due first; none of the webhooks ``skip``
    names (receivers this worker is already sending all it may to)."""
    until = later(now, lease_seconds)

    def work(tx: WriteTx) -> list[Claimed]:
        due = (select(_o.id).where(_o.status == "pending", _o.next_attempt_at <= now,
                                   _o.channel.in_(list(channels)))
               .order_by(_o.next_attempt_at, _o.id).limit(limit))
        if skip:
            due = due.where(or_(_o.channel != "webhook", _o.target.not_in(sorted(skip))))
        ids = [row[0] for row in tx.core(tx.dialect.claimable(due))]
        if not ids:
            return []
        tx.core(update(t_outbox).where(_o.id.in_(ids)).values(lease_until=until, next_attempt_at=until))
        hooked = and_(_o.channel == "webhook", _w.id == _o.target)
        joined = (t_outbox.join(t_events, and_(_e.chain == _o.chain, _e.seq == _o.seq))
                  .outerjoin(t_webhooks, hooked))
        rows = tx.core(
            select(_o.id, _o.kind, _o.people, _o.channel, _o.target, _o.attempts, _o.payload,
                   _e.chain, _e.seq, _e.at, _e.actor, _e.action, _e.phase, _e.data, _e.prev_hash, _e.hash,
                   _w.id.label("hook_id"), _w.url, _w.secret, _w.format, _w.active)
            .select_from(joined).where(_o.id.in_(ids)).order_by(_o.id))
        claimed = [_claimed(r, until) for r in rows]
        mailed = {row.people[0] for row in claimed if row.channel == "email" and row.people}
        if not mailed:
            return claimed
        off = {login for (login,) in tx.core(select(t_people.c.login).where(
            t_people.c.login.in_(sorted(mailed)), t_people.c.active.is_(False)))}
        return [replace(row, disabled=True) if row.channel == "email" and set(row.people) & off else row
                for row in claimed]

    return store.write(work)


def _claimed(row: Any, lease: str) -> Claimed:
    event = Event(row.chain, row.seq, row.at, row.actor, row.action, row.phase, row.data, row.prev_hash,
                  row.hash)
    hook = None
    if row.hook_id is not None:
        hook = Hook(row.hook_id, row.url, row.secret, row.format, bool(row.active))
    return Claimed(row.id, row.kind, tuple(json.loads(row.people)), row.channel, row.target, row.attempts,
                   lease, event, hook, payload=row.payload)


def settle(store: Store, outcomes: Iterable[Outcome], now: str, *, max_attempts: int,
           delay: Callable[[int], float]) -> dict[str, int]:
    """Record what the sends did, in one transaction; how many were delivered, retried, dead, released."""
    delivered, failed, released = [], [], []
    counts = {"delivered": 0, "retry": 0, "dead": 0, "released": 0}
    for out in outcomes:
        attempts = out.row.attempts + 1
        if not out.sent:
            released.append({"b_id": out.row.id, "b_lease": out.row.lease})
            counts["released"] += 1
            continue
        if out.error is None:
            delivered.append({"b_id": out.row.id, "b_attempts": attempts})
            counts["delivered"] += 1
            continue
        dead = out.permanent or attempts >= max_attempts
        counts["dead" if dead else "retry"] += 1
        failed.append({"b_id": out.row.id, "b_lease": out.row.lease, "b_attempts": attempts,
                       "b_status": "dead" if dead else "pending", "b_error": out.error[:ERROR_MAX],
                       "b_next": now if dead else later(now, delay(attempts))})

    def work(tx: WriteTx) -> None:
        if delivered:
            tx.conn.execute(
                update(t_outbox).where(_o.id == bindparam("b_id"), _o.status == "pending")
                .values(status="delivered", delivered_at=now, lease_until=None, payload=None,
                        attempts=bindparam("b_attempts")),
                delivered)
        if failed:
            tx.conn.execute(
                update(t_outbox).where(_o.id == bindparam("b_id"), _o.status == "pending",
                                       _o.lease_until == bindparam("b_lease"))
                .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                        last_error=bindparam("b_error"), next_attempt_at=bindparam("b_next"),
                        lease_until=None),
                failed)
            # a secret an e-mail carried goes with it: delivered or dead, it is not kept
            ids = [f["b_id"] for f in failed if f["b_status"] == "dead"]
            if ids:
                tx.conn.execute(update(t_outbox).where(_o.id.in_(ids), _o.status == "dead")
                                .values(payload=None))
        if released:  # never sent: due again at once, its tries and last error as they were
            tx.conn.execute(
                update(t_outbox).where(_o.id == bindparam("b_id"), _o.status == "pending",
                                       _o.lease_until == bindparam("b_lease"))
                .values(next_attempt_at=now, lease_until=None),
                released)

    if delivered or failed or released:
        store.write(work)
    return counts


def waiting(store: Store, channel: str) -> int:
    """How many rows of ``channel`` wait to be sent (for the sentence when e-mail is not set up)."""
    return int(store.read(lambda tx: tx.core(
        select(func.count()).select_from(t_outbox).where(_o.status == "pending", _o.channel == channel)
    ).scalar_one()))
