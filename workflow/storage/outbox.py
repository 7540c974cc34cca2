"""The producing side of the outbox: an event's notifications, written in the event's own transaction.

One row per e-mail recipient who wants that kind of notification (``notify_settings``;
none set: every kind) and has an address, and one per active webhook subscribed to the
kind. Delivery (``phasegate notify run``) reads the rows and the event they name; a
command only ever inserts, so a slow or dead receiver costs it nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import insert, select

from workflow.domain.asks import Ask
from workflow.domain.events import Event
from workflow.storage.tables import notify_settings as t_settings
from workflow.storage.tables import outbox as t_outbox
from workflow.storage.tables import people as t_people
from workflow.storage.tables import webhooks as t_webhooks
from workflow.storage.tx import WriteTx


def queue(tx: WriteTx, event: Event, asks: Sequence[Ask], now: str) -> int:
    """Write the notifications ``asks`` owes for ``event``; how many rows."""
    kinds: dict[str, set[str]] = {}
    for ask in asks:
        kinds.setdefault(ask.kind, set()).update(ask.people)
    if not kinds:
        return 0
    people = sorted(set().union(*kinds.values()))
    rows = []
    for login, email, wanted in tx.core(
        select(t_people.c.login, t_people.c.email, t_settings.c.email_kinds)
        .outerjoin(t_settings, t_settings.c.person == t_people.c.login)
        .where(t_people.c.login.in_(people), t_people.c.active, t_people.c.email.is_not(None))
    ):
        chosen = None if wanted is None else set(json.loads(wanted))
        for kind, asked in kinds.items():
            if login in asked and (chosen is None or kind in chosen):
                rows.append(_row(event, kind, [login], "email", email, now))
    hooks = select(t_webhooks.c.id, t_webhooks.c.kinds).where(t_webhooks.c.active)
    for webhook_id, subscribed in tx.core(hooks):
        chosen = set(json.loads(subscribed))
        for kind, asked in kinds.items():
            if "*" in chosen or kind in chosen:
                rows.append(_row(event, kind, sorted(asked), "webhook", webhook_id, now))
    if rows:
        tx.conn.execute(insert(t_outbox), rows)
    return len(rows)


def _row(event: Event, kind: str, people: list[str], channel: str, target: str, now: str
         ) -> dict[str, object]:
    return {"chain": event.chain, "seq": event.seq, "kind": kind, "people": json.dumps(people),
            "channel": channel, "target": target, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "lease_until": None, "last_error": None, "created_at": now,
            "delivered_at": None}
