"""The producing side of the outbox: an event's notifications, written in the event's own transaction.

One row per e-mail recipient who wants that kind of notification (``notify_settings``;
none set: every kind) and has an address, and one per active webhook subscribed to the
kind. Delivery (``phasegate notify run``) reads the rows and the event they name; a
command only ever inserts, so a slow or dead receiver costs it nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow.domain.audit.events import Event
from workflow.domain.identity import external_address, is_external
from workflow.domain.notify.asks import Ask
from workflow.storage.statements import Statement

if TYPE_CHECKING:
    from workflow.storage.transaction import WriteTx

COLUMNS = ("chain", "seq", "kind", "people", "channel", "target", "status", "attempts", "next_attempt_at",
           "lease_until", "last_error", "created_at", "delivered_at")


CHUNK = 999 // len(COLUMNS)  # rows a statement: within SQLite's oldest limit of 999 parameters


@lru_cache(maxsize=CHUNK + 1)
def _insert(count: int) -> Statement:
    """``count`` rows in one statement, so their ids follow their order (PostgreSQL sends a
    command's writes with its COMMIT, in an order of its own between statements)."""
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in COLUMNS) + ")" for i in range(count))
    return Statement(f"insert_outbox_{count}", f"INSERT INTO outbox ({', '.join(COLUMNS)}) VALUES {values}")


class Recipients(NamedTuple):
    """The outbox's recipients as the write path read them with the locked project."""

    covers: frozenset[str]  # the people whose addresses are known here (the team)
    emails: Mapping[str, tuple[str, str | None]]  # login -> (address, chosen kinds JSON or None)
    webhooks: tuple[tuple[str, str], ...]  # (id, kinds JSON) of each active webhook


@lru_cache(maxsize=64)
def _recipients(count: int) -> Statement:
    """The e-mail recipients among ``count`` people, and the active webhooks: one round trip."""
    names = ", ".join(f":p{i}" for i in range(count))
    return Statement(f"outbox_recipients_{count}", (
        "SELECT 'email', p.login, p.email, s.email_kinds FROM people p"
        " LEFT JOIN notify_settings s ON s.person = p.login"
        f" WHERE p.login IN ({names}) AND p.active AND p.email IS NOT NULL"
        " UNION ALL SELECT 'webhook', id, NULL, kinds FROM webhooks WHERE active ORDER BY 1, 2"
    ))


def queue(tx: WriteTx, event: Event, asks: Sequence[Ask], now: str) -> int:
    """Write the notifications ``asks`` owes for ``event``; how many rows."""
    kinds: dict[str, set[str]] = {}
    for ask in asks:
        kinds.setdefault(ask.kind, set()).update(ask.people)
    if not kinds:
        return 0
    people = sorted(set().union(*kinds.values()))
    rows = []
    known = tx.recipients
    found: list[Any]
    if known is not None and known.covers.issuperset(people):
        found = [("email", login, *known.emails[login]) for login in people if login in known.emails]
        found += [("webhook", hook_id, None, kinds) for hook_id, kinds in sorted(known.webhooks)]
    else:  # someone off the team (an admin told of an escalation), or no project read first
        names = {f"p{i}": login for i, login in enumerate(people)}
        found = tx.run(_recipients(len(people)), names).fetchall()
    # An outside signer (``client:ADDRESS``, issue 24) has no account: the address is in the name.
    found += [("email", person, external_address(person), None) for person in people if is_external(person)]
    for channel, target, email, wanted in found:
        chosen = None if wanted is None else set(json.loads(wanted))
        for kind, asked in kinds.items():
            if channel == "email":
                if target in asked and (chosen is None or kind in chosen):
                    rows.append(_row(event, kind, [target], "email", email, now))
            elif chosen is not None and ("*" in chosen or kind in chosen):
                rows.append(_row(event, kind, sorted(asked), "webhook", target, now))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        tx.write(_insert(len(chunk)), {f"{c}_{i}": row[c] for i, row in enumerate(chunk) for c in COLUMNS})
    return len(rows)


def _row(event: Event, kind: str, people: list[str], channel: str, target: str, now: str
         ) -> dict[str, object]:
    return {"chain": event.chain, "seq": event.seq, "kind": kind, "people": json.dumps(people),
            "channel": channel, "target": target, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "lease_until": None, "last_error": None, "created_at": now,
            "delivered_at": None}
