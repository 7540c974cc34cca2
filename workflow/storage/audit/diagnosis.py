"""What is wrong with an event or a chain that fails verification, named as one :class:`BrokenEvent`.

:func:`workflow.storage.audit.verify.verify_chains` checks each row with one hash and
a few comparisons; only when a row (or a chain's end) fails them does it come
here, where the look-ups that tell the problems apart run: was the event
deleted or renumbered, edited or swapped with its neighbour, forked or
reordered; does the chain still reach its project's head and the checkpoint's
length. Every function runs at most once per pass, so none of them is fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.domain.audit.events import GENESIS, Event
from workflow.domain.results import BrokenEvent
from workflow.storage.tables import events as t_events

__all__ = ["EVENT_COLUMNS", "chain_end", "check_row", "fast_hash"]


def fast_hash(prev_hash: str, chain: str, seq: int, at: str, actor: str, action: str, phase: str | None,
              data: str) -> str:
    """:func:`workflow.domain.audit.events.event_hash`, inlined for the verifier's inner loop.

    (A test pins the two equal.)
    """
    s = str(seq)
    p = "~" if phase is None else f"{len(phase)}:{phase}"
    payload = (f"{prev_hash}{len(chain)}:{chain}{len(s)}:{s}{len(at)}:{at}{len(actor)}:{actor}"
               f"{len(action)}:{action}{p}{len(data)}:{data}")
    return sha256(payload.encode("utf-8")).hexdigest()


# What the verifier reads of an event, in the order of Event's fields (the pass reads it, and so do
# the look-ups here, which read a broken event as an Event).
EVENT_COLUMNS = (t_events.c.chain, t_events.c.seq, t_events.c.at, t_events.c.actor, t_events.c.action,
                 t_events.c.phase, t_events.c.data, t_events.c.prev_hash, t_events.c.hash)



def _rehash(row: Event, seq: int) -> str | None:
    """The hash ``row`` would have as event ``seq`` (None if a field is NULL or not text: it was edited)."""
    try:
        return fast_hash(row.prev_hash, row.chain, seq, row.at, row.actor, row.action, row.phase,
                         row.data_json)
    except TypeError:
        return None


def _gap(conn: Connection, chain: str, expected: int, prev_hash: str, found_seq: int) -> BrokenEvent:
    """Event ``expected`` is not where it should be: deleted, or renumbered elsewhere in the chain?"""
    found = conn.execute(
        select(*EVENT_COLUMNS).where(t_events.c.chain == chain, t_events.c.prev_hash == prev_hash,
                                t_events.c.seq != expected)
    ).first()
    moved = None if found is None else Event(*found)
    if moved is not None and _rehash(moved, expected) == moved.hash:
        return BrokenEvent(chain, expected, "edited",
                           f"its sequence number was changed from {expected} to {moved.seq}")
    return BrokenEvent(chain, expected, "missing",
                       f"event {expected} is missing (the next stored event is {found_seq})")


def _misplaced(conn: Connection, row: Any) -> BrokenEvent:
    """The stored fields do not produce the stored hash: edited, or an intact event at the wrong place?"""
    row = Event(*row)
    chain, seq = row.chain, row.seq
    candidates = [seq - 1, seq + 1]
    successor = conn.execute(
        select(t_events.c.seq).where(t_events.c.chain == chain, t_events.c.prev_hash == row.hash).limit(1)
    ).first()
    if successor is not None:
        candidates.append(successor.seq - 1)
    predecessor = conn.execute(
        select(t_events.c.seq).where(t_events.c.chain == chain, t_events.c.hash == row.prev_hash).limit(1)
    ).first()
    if predecessor is not None:
        candidates.append(predecessor.seq + 1)
    if row.prev_hash == GENESIS:
        candidates.append(1)
    for other in dict.fromkeys(candidates):
        if other > 0 and other != seq and _rehash(row, other) == row.hash:
            return BrokenEvent(chain, seq, "reordered",
                               f"it holds the event written as event {other}: events were swapped or moved")
    return BrokenEvent(chain, seq, "edited", "its stored fields no longer produce its stored hash")


def _unlinked(conn: Connection, row: Any) -> BrokenEvent:
    """An intact event that does not follow the one stored before it: a fork, or a reordering."""
    row = Event(*row)
    twin = conn.execute(
        select(t_events.c.seq).where(t_events.c.chain == row.chain, t_events.c.prev_hash == row.prev_hash,
                                     t_events.c.seq != row.seq).order_by(t_events.c.seq).limit(1)
    ).first()
    if twin is not None:
        return BrokenEvent(row.chain, row.seq, "forked",
                           f"it claims the same predecessor as event {twin.seq}: the chain was forked")
    return BrokenEvent(row.chain, row.seq, "reordered", "it does not follow the event stored before it")


def check_row(conn: Connection, row: Sequence[Any], next_seq: int, prev_hash: str, cp_len: int,
               cp_hash: str, checkpoint_label: str) -> BrokenEvent | None:
    """Every check of one event, in order, naming what is wrong (None: the event is fine)."""
    name, seq, at, actor, action, phase, data, stored_prev, stored_hash = row
    if seq != next_seq:
        return _gap(conn, name, next_seq, prev_hash, seq)
    try:
        intact = fast_hash(stored_prev, name, seq, at, actor, action, phase, data) == stored_hash
    except TypeError:  # a NULL or a value of another type where phasegate stores text
        intact = False
    if not intact:
        return _misplaced(conn, row)
    if stored_prev != prev_hash:
        return _unlinked(conn, row)
    if seq == cp_len and stored_hash != cp_hash:
        return BrokenEvent(name, seq, "edited",
                           f"the chain up to this event differs from {checkpoint_label}: it "
                           f"was rewritten (hashes recomputed) since")
    return None


def chain_end(name: str, last_seq: int, last_hash: str, recorded: tuple[int, str] | None, cp_len: int,
               checkpoint_label: str) -> BrokenEvent | None:
    """The chain ``name`` ended: does it reach the head its project records, and the checkpoint's length?"""
    if recorded is not None:
        head_seq, head_hash = recorded
        if last_seq < head_seq:
            return BrokenEvent(name, last_seq + 1, "missing",
                               f"the chain ends at event {last_seq} but the project records "
                               f"{head_seq} events")
        if last_seq > head_seq or last_hash != head_hash:
            return BrokenEvent(name, last_seq, "edited",
                               "the chain's last event does not match the head recorded on the project")
    if last_seq < cp_len:
        return BrokenEvent(name, last_seq + 1, "missing",
                           f"{checkpoint_label} recorded {cp_len} events; "
                           f"the chain now ends at event {last_seq}")
    return None
