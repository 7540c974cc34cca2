"""Appending to the hash chains: a project's (moving its head and state with the event) and the
system chain of templates and grants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow.domain.audit.events import GENESIS, SYSTEM_CHAIN, Event, new_event
from workflow.domain.identity import Identity
from workflow.domain.state import ProjectState
from workflow.storage import statements as sql
from workflow.storage.database import event_time
from workflow.storage.insights.track import track
from workflow.storage.tables import events as t_events

if TYPE_CHECKING:
    from workflow.storage.transaction import WriteTx


def append_project_event(tx: WriteTx, state: ProjectState, event: Event, moved: dict[str, Any]) -> Event:
    """Write ``event`` (the next of ``state``'s chain) and move the project's head with it.

    ``moved`` holds the fields the event changes (phase, round, rounds, status, and the
    seq of a hold or rejection). On PostgreSQL both writes go out with the COMMIT
    (``Dialect.write``).
    """
    tx.write(sql.INSERT_EVENT, tx.record(event))
    # Only the columns the event moves (to a value they do not have already) are written.
    changed = tuple(c for c in sql.PROJECT_MOVES if c in moved and moved[c] != getattr(state, c))
    head = {"seq": event.seq, "head_hash": event.hash, "updated_at": event.at, "id": state.id,
            "prev_seq": state.seq}
    tx.write(sql.update_project(changed), {**head, **moved}, one_row=True)
    track(tx, state, event, moved)
    return event


def start_project_chain(tx: WriteTx, event: Event) -> Event:
    """Write a new project's first event (its row, inserted just before, records the head)."""
    tx.run(sql.INSERT_EVENT, tx.record(event))
    return event


def append_system_event(tx: WriteTx, actor: str | Identity, action: str, data: dict[str, Any]) -> Event:
    """Append to the system chain of templates, grants and accounts (the caller holds
    ``dialect.lock_system``); the event records how ``actor`` was authenticated.

    Written at once, not with the COMMIT: a transaction that appends several (publishing
    the built-ins) reads the head it has just moved.
    """
    head = tx.core(
        t_events.select()
        .with_only_columns(t_events.c.seq, t_events.c.hash, t_events.c.at)
        .where(t_events.c.chain == SYSTEM_CHAIN)
        .order_by(t_events.c.seq.desc())
        .limit(1)
    ).first()
    seq, prev, last_at = (0, GENESIS, "") if head is None else (head.seq, head.hash, head.at)
    who = actor if isinstance(actor, Identity) else Identity(actor)
    data = {**data, "auth": who.auth}
    at = event_time(last_at or None)
    event = new_event(SYSTEM_CHAIN, seq + 1, prev, at, who.person, action, None, data)
    tx.run(sql.INSERT_EVENT, tx.record(event))
    return event
