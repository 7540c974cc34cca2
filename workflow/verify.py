"""Recompute the audit hash chains, streaming in chain order with constant memory.

Each chain is read oldest first. For every event the verifier recomputes its hash
from its stored fields and checks that it links to the previous event's hash; the
first event that fails is named with what is wrong:

- ``edited``: the stored fields no longer produce the stored hash;
- ``missing``: a sequence number is skipped, or the chain ends before the head
  recorded on its project;
- ``reordered``: the event is intact but sits at another position than the one it
  was written at (two events swapped);
- ``forked``: two events claim the same predecessor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.audit import GENESIS, event_hash
from workflow.status import AuditReport, BrokenEvent
from workflow.storage.tables import events as t_events
from workflow.storage.tables import projects as t_projects

BATCH = 5000


def _rows(conn: Connection, chain: str | None) -> Iterator[Any]:
    cols = (t_events.c.chain, t_events.c.seq, t_events.c.at, t_events.c.actor, t_events.c.action,
            t_events.c.phase, t_events.c.data, t_events.c.prev_hash, t_events.c.hash)
    stmt = select(*cols)
    if chain is not None:
        stmt = stmt.where(t_events.c.chain == chain)
    stmt = stmt.order_by(t_events.c.chain, t_events.c.seq)
    result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt)
    try:
        while batch := result.fetchmany(BATCH):
            yield from batch
    finally:
        result.close()


def _heads(conn: Connection, chain: str | None) -> dict[str, tuple[int, str]]:
    stmt = select(t_projects.c.code, t_projects.c.seq, t_projects.c.head_hash)
    if chain is not None:
        stmt = stmt.where(t_projects.c.code == chain)
    return {r.code: (r.seq, r.head_hash) for r in conn.execute(stmt)}


def verify_chains(conn: Connection, chain: str | None = None) -> AuditReport:
    """Verify every chain (or one). Memory stays constant in the number of events per chain."""
    heads = _heads(conn, chain)
    checked = 0
    chains = 0
    current: str | None = None
    expected_seq = 1
    prev_hash = GENESIS
    prev_prev_hash: str | None = None
    seen_chains: set[str] = set()

    def tail_check(name: str | None, last_seq: int, last_hash: str) -> BrokenEvent | None:
        if name is None or name not in heads:
            return None
        head_seq, head_hash = heads[name]
        if last_seq < head_seq:
            return BrokenEvent(name, last_seq + 1, "missing",
                               f"the chain ends at event {last_seq} but the project records {head_seq} events")
        if last_seq > head_seq or last_hash != head_hash:
            return BrokenEvent(name, last_seq, "edited",
                               "the chain's last event does not match the head recorded on the project")
        return None

    def report(broken: BrokenEvent | None) -> AuditReport:
        return AuditReport(ok=broken is None, events_checked=checked, chains_checked=chains, first_broken=broken)

    for row in _rows(conn, chain):
        if row.chain != current:
            if current is not None:
                broken = tail_check(current, expected_seq - 1, prev_hash)
                if broken:
                    return report(broken)
            current = row.chain
            seen_chains.add(current)
            chains += 1
            expected_seq, prev_hash, prev_prev_hash = 1, GENESIS, None
        checked += 1
        recomputed = event_hash(row.prev_hash, row.chain, row.seq, row.at, row.actor, row.action, row.phase, row.data)
        if row.seq != expected_seq:
            return report(BrokenEvent(row.chain, expected_seq, "missing",
                                      f"event {expected_seq} is missing (the next stored event is {row.seq})"))
        if recomputed != row.hash:
            for other in (row.seq - 1, row.seq + 1):
                if other > 0 and event_hash(row.prev_hash, row.chain, other, row.at, row.actor, row.action,
                                            row.phase, row.data) == row.hash:
                    return report(BrokenEvent(row.chain, row.seq, "reordered",
                                              f"this event was written as event {other}"))
            return report(BrokenEvent(row.chain, row.seq, "edited",
                                      "its stored fields no longer produce its stored hash"))
        if row.prev_hash != prev_hash:
            if prev_prev_hash is not None and row.prev_hash == prev_prev_hash:
                return report(BrokenEvent(row.chain, row.seq, "forked",
                                          f"it claims the same predecessor as event {row.seq - 1}"))
            return report(BrokenEvent(row.chain, row.seq, "reordered",
                                      "it does not follow the event stored before it"))
        prev_prev_hash, prev_hash = prev_hash, row.hash
        expected_seq += 1
    if current is not None:
        broken = tail_check(current, expected_seq - 1, prev_hash)
        if broken:
            return report(broken)
    for name, (head_seq, _) in heads.items():
        if name not in seen_chains and head_seq > 0:
            return report(BrokenEvent(name, 1, "missing", "the project's whole chain is missing"))
    return report(None)
