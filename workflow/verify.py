"""Recompute the audit hash chains, streaming in chain order with constant memory.

Each chain is read oldest first, in batches (a server-side cursor on PostgreSQL).
For every event the verifier recomputes its hash from its stored fields and checks
that it links to the previous event's hash; the first event that fails is named
with what is wrong:

- ``edited``: the stored fields no longer produce the stored hash (or, with a
  checkpoint, the chain no longer has the head the checkpoint recorded: it was
  rewritten with recomputed hashes), or its sequence number was changed;
- ``missing``: a sequence number is skipped, or the chain ends before the head
  recorded on its project (or in the checkpoint), or a whole chain is gone;
- ``reordered``: the event is intact but sits at another position than the one it
  was written at (two events swapped);
- ``forked``: two events claim the same predecessor.

The happy path parses no JSON and runs one query; the extra look-ups that tell the
problems apart run only once something is already broken.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from hashlib import sha256
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.audit import GENESIS
from workflow.status import AuditReport, BrokenEvent
from workflow.storage.tables import events as t_events
from workflow.storage.tables import projects as t_projects

BATCH = 5000

# chain -> (length, head hash): what a project row or a checkpoint says a chain should end at.
Heads = dict[str, tuple[int, str]]


def fast_hash(prev_hash: str, chain: str, seq: int, at: str, actor: str, action: str, phase: str | None,
              data: str) -> str:
    """:func:`workflow.audit.event_hash`, inlined for the verifier's inner loop (a test pins them equal)."""
    s = str(seq)
    p = "~" if phase is None else f"{len(phase)}:{phase}"
    payload = (f"{prev_hash}{len(chain)}:{chain}{len(s)}:{s}{len(at)}:{at}{len(actor)}:{actor}"
               f"{len(action)}:{action}{p}{len(data)}:{data}")
    return sha256(payload.encode("utf-8")).hexdigest()


class _Row(NamedTuple):
    chain: str
    seq: int
    at: str
    actor: str
    action: str
    phase: str | None
    data: str
    prev_hash: str
    hash: str


_COLUMNS = (t_events.c.chain, t_events.c.seq, t_events.c.at, t_events.c.actor, t_events.c.action,
            t_events.c.phase, t_events.c.data, t_events.c.prev_hash, t_events.c.hash)


def _batches(conn: Connection, chain: str | None) -> Iterator[Sequence[Any]]:
    """Plain DBAPI tuples in batches, inside the caller's transaction.

    The one place phasegate goes under SQLAlchemy's rows: building a Row per event
    costs about as much as reading it, and the verifier must keep to at least half
    the raw read rate. The SQL is still compiled from the Core table by the dialect.
    PostgreSQL reads through a named (server-side) cursor, SQLite's cursor is lazy:
    one batch is in memory at a time.
    """
    stmt = select(*_COLUMNS)
    if chain is not None:
        stmt = stmt.where(t_events.c.chain == chain)
    compiled = stmt.order_by(t_events.c.chain, t_events.c.seq).compile(dialect=conn.dialect)
    values = compiled.construct_params()
    params: Any = tuple(values[k] for k in compiled.positiontup or ()) if compiled.positional else values
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    pg = conn.dialect.name == "postgresql"
    cursor: Any = dbapi.cursor(name="phasegate_verify") if pg else dbapi.cursor()
    try:
        if pg:
            cursor.itersize = BATCH
        cursor.execute(str(compiled), params)
        while batch := cursor.fetchmany(BATCH):
            yield batch
    finally:
        cursor.close()


def project_heads(conn: Connection, chain: str | None) -> Heads:
    stmt = select(t_projects.c.code, t_projects.c.seq, t_projects.c.head_hash)
    if chain is not None:
        stmt = stmt.where(t_projects.c.code == chain)
    return {r.code: (r.seq, r.head_hash) for r in conn.execute(stmt)}


# -- telling the problems apart (only once something is broken) -------------------------------------


def _gap(conn: Connection, chain: str, expected: int, prev_hash: str, found_seq: int) -> BrokenEvent:
    """Event ``expected`` is not where it should be: deleted, or renumbered elsewhere in the chain?"""
    moved = conn.execute(
        select(*_COLUMNS).where(t_events.c.chain == chain, t_events.c.prev_hash == prev_hash,
                                t_events.c.seq != expected)
    ).first()
    if moved is not None and fast_hash(moved.prev_hash, chain, expected, moved.at, moved.actor, moved.action,
                                       moved.phase, moved.data) == moved.hash:
        return BrokenEvent(chain, expected, "edited",
                           f"its sequence number was changed from {expected} to {moved.seq}")
    return BrokenEvent(chain, expected, "missing",
                       f"event {expected} is missing (the next stored event is {found_seq})")


def _misplaced(conn: Connection, row: Any) -> BrokenEvent:
    """The stored fields do not produce the stored hash: edited, or an intact event at the wrong place?"""
    row = _Row(*row)
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
        if other > 0 and other != seq and fast_hash(
                row.prev_hash, chain, other, row.at, row.actor, row.action, row.phase, row.data) == row.hash:
            return BrokenEvent(chain, seq, "reordered",
                               f"it holds the event written as event {other}: events were swapped or moved")
    return BrokenEvent(chain, seq, "edited", "its stored fields no longer produce its stored hash")


def _unlinked(conn: Connection, row: Any) -> BrokenEvent:
    """An intact event that does not follow the one stored before it: a fork, or a reordering."""
    row = _Row(*row)
    twin = conn.execute(
        select(t_events.c.seq).where(t_events.c.chain == row.chain, t_events.c.prev_hash == row.prev_hash,
                                     t_events.c.seq != row.seq).order_by(t_events.c.seq).limit(1)
    ).first()
    if twin is not None:
        return BrokenEvent(row.chain, row.seq, "forked",
                           f"it claims the same predecessor as event {twin.seq}: the chain was forked")
    return BrokenEvent(row.chain, row.seq, "reordered", "it does not follow the event stored before it")


# -- the pass ---------------------------------------------------------------------------------------


def verify_chains(conn: Connection, chain: str | None = None, *,
                  checkpoint: Mapping[str, tuple[int, str]] | None = None, collect: Heads | None = None,
                  checkpoint_label: str = "the checkpoint") -> AuditReport:
    """Verify every chain (or one) in one streaming pass.

    ``checkpoint`` (chain -> length, head hash) additionally requires every recorded
    chain to still reach its recorded length with the recorded hash there.
    ``collect`` receives every verified chain's (length, head hash), for writing a
    checkpoint from the same pass. Memory grows with the number of chains, never with
    the number of events.
    """
    heads = project_heads(conn, chain)
    expected = dict(checkpoint or {})
    if chain is not None:
        expected = {k: v for k, v in expected.items() if k == chain}
    checked = 0
    chains = 0
    current: str | None = None
    next_seq = 1
    prev_hash = GENESIS
    cp_len, cp_hash = 0, ""
    seen: set[str] = set()

    def chain_end(name: str, last_seq: int, last_hash: str) -> BrokenEvent | None:
        if name in heads:
            head_seq, head_hash = heads[name]
            if last_seq < head_seq:
                return BrokenEvent(name, last_seq + 1, "missing",
                                   f"the chain ends at event {last_seq} but the project records "
                                   f"{head_seq} events")
            if last_seq > head_seq or last_hash != head_hash:
                return BrokenEvent(name, last_seq, "edited",
                                   "the chain's last event does not match the head recorded on the project")
        if name in expected and last_seq < expected[name][0]:
            return BrokenEvent(name, last_seq + 1, "missing",
                               f"{checkpoint_label} recorded {expected[name][0]} events; "
                               f"the chain now ends at event {last_seq}")
        if collect is not None:
            collect[name] = (last_seq, last_hash)
        return None

    def report(broken: BrokenEvent | None) -> AuditReport:
        return AuditReport(ok=broken is None, events_checked=checked, chains_checked=chains,
                           first_broken=broken,
                           checkpoint_chains=len(expected) if checkpoint is not None else None)

    digest = sha256
    head = ""  # the chain's length-prefixed name, the same in every event of the chain
    for batch in _batches(conn, chain):
        for row in batch:
            name, seq, at, actor, action, phase, data, stored_prev, stored_hash = row
            if name != current:
                if current is not None and (broken := chain_end(current, next_seq - 1, prev_hash)):
                    return report(broken)
                current = name
                seen.add(name)
                chains += 1
                next_seq, prev_hash = 1, GENESIS
                cp_len, cp_hash = expected.get(name, (0, ""))
                head = f"{len(name)}:{name}"
            checked += 1
            if seq != next_seq:
                return report(_gap(conn, name, next_seq, prev_hash, seq))
            # fast_hash inlined (the loop's cost is this line; a test pins fast_hash to audit.event_hash)
            s = str(seq)
            p = "~" if phase is None else f"{len(phase)}:{phase}"
            payload = (f"{stored_prev}{head}{len(s)}:{s}{len(at)}:{at}{len(actor)}:{actor}"
                       f"{len(action)}:{action}{p}{len(data)}:{data}")
            if digest(payload.encode()).hexdigest() != stored_hash:
                return report(_misplaced(conn, row))
            if stored_prev != prev_hash:
                return report(_unlinked(conn, row))
            if seq == cp_len and stored_hash != cp_hash:
                return report(BrokenEvent(name, seq, "edited",
                                          f"the chain up to this event differs from {checkpoint_label}: it "
                                          f"was rewritten (hashes recomputed) since"))
            prev_hash = stored_hash
            next_seq += 1
    if current is not None and (broken := chain_end(current, next_seq - 1, prev_hash)):
        return report(broken)
    for name, (head_seq, _) in sorted(heads.items()):
        if name not in seen and head_seq > 0:
            return report(BrokenEvent(name, 1, "missing", "the project's whole chain is missing"))
    for name, (length, _) in sorted(expected.items()):
        if name not in seen and length > 0:
            return report(BrokenEvent(name, 1, "missing",
                                      f"the whole chain is missing ({checkpoint_label} recorded "
                                      f"{length} events)"))
    return report(None)
