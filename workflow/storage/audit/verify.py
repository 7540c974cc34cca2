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
- ``forked``: two events claim the same predecessor;
- ``state differs``: a project's chain has events but the project's row is gone
  (phasegate never deletes a project). Named only when no chain is broken, as the
  rest of the state check (:mod:`workflow.storage.audit.state`) is, which compares
  every row with the replay of its chain.

The happy path parses no JSON and reads two streams side by side: the events in
chain order and the projects (whose rows record each chain's head) in the same
order, a merge join, so memory does not grow with the number of events or of
projects. Each row costs one sha256 and a few comparisons; everything that tells
the problems apart (the look-ups above, :mod:`workflow.storage.audit.diagnosis`)
runs only once a row fails them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from hashlib import sha256
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from workflow.domain.audit.events import GENESIS, SYSTEM_CHAIN
from workflow.domain.audit.state_check import missing_row
from workflow.domain.results import STATE_DIFFERS, AuditReport, BrokenEvent
from workflow.storage import dialects
from workflow.storage.audit.diagnosis import EVENT_COLUMNS, chain_end, check_row
from workflow.storage.tables import events as t_events
from workflow.storage.tables import projects as t_projects

BATCH = 5000

# chain -> (length, head hash): what a project row or a checkpoint says a chain should end at.
Heads = dict[str, tuple[int, str]]
# The chains ``lo <= name < hi`` in the database's order (None: that end is open).
Span = tuple[str | None, str | None]
EVERY_CHAIN: Span = (None, None)


def open_cursor(conn: Connection, stmt: Select[Any], name: str) -> Any:
    """A plain DBAPI cursor executing ``stmt`` inside the caller's transaction, to iterate.

    The one place phasegate goes under SQLAlchemy's rows: building a Row per event
    costs about as much as reading it, and the verifier must keep to at least half
    the raw read rate. The SQL is still compiled from the Core table by the dialect.
    PostgreSQL reads through a named (server-side) cursor, ``BATCH`` rows a round trip;
    SQLite's cursor steps through the statement lazily. Either way the rows are not
    held: memory stays the same however many there are.
    """
    compiled = stmt.compile(dialect=conn.dialect)
    values = compiled.construct_params()
    params: Any = tuple(values[k] for k in compiled.positiontup or ()) if compiled.positional else values
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor: Any = dialects.of(conn).stream_cursor(dbapi, name, BATCH)
    try:
        cursor.execute(str(compiled), params)
    except BaseException:
        cursor.close()
        raise
    return cursor


def in_range(stmt: Select[Any], column: Any, chain: str | None, span: Span) -> Select[Any]:
    """``stmt`` limited to one chain, or to the chains ``lo <= name < hi`` (either end open)."""
    if chain is not None:
        return stmt.where(column == chain)
    lo, hi = span
    if lo is not None:
        stmt = stmt.where(column >= lo)
    if hi is not None:
        stmt = stmt.where(column < hi)
    return stmt


def events_in_order(chain: str | None, span: Span = EVERY_CHAIN) -> Select[Any]:
    stmt = in_range(select(*EVENT_COLUMNS), t_events.c.chain, chain, span)
    return stmt.order_by(t_events.c.chain, t_events.c.seq)


class ProjectStream:
    """Project rows read in the events' order beside them; the first passed over has no events.

    A subclass reads its stream in ``__init__`` (``_conn``, ``_rows``, ``_next``), passes a row
    over in ``_pass_over`` (noting it in ``_passed`` when its chain should have events) and says
    which projects should have events at all in ``_owing``.
    """

    _conn: Connection
    _rows: Iterator[Any]
    _next: Any
    _passed: str | None = None  # the first project passed over: its chain has no events

    def _pass_over(self) -> None:
        raise NotImplementedError

    def _owing(self) -> Select[Any]:
        raise NotImplementedError

    def chainless(self) -> str | None:
        """After the last event: the first project (in order) that should record events but has none."""
        while self._next is not None and self._passed is None:
            self._pass_over()
        code = self._passed
        if code is None:
            return None
        stored = self._conn.execute(select(t_events.c.seq).where(t_events.c.chain == code).limit(1)).first()
        if stored is None:
            return code
        # Only if the two columns were given different collations: ask the database instead.
        has_events = select(t_events.c.seq).where(t_events.c.chain == t_projects.c.code).exists()
        stmt = self._owing().where(~has_events).order_by(t_projects.c.code).limit(1)
        return self._conn.execute(stmt).scalar()


class _ProjectHeads(ProjectStream):
    """The head every project row records for its chain, read in the events' order beside them.

    Both streams are ordered by the database (``events.chain`` and ``projects.code``
    have the same type and collation, each read along its own index), so the heads
    are a merge join: each chain's head is the next project row, and memory does not
    grow with the number of projects. A chain that is not the next project row is
    looked up by code: a chain without a project (the system chain, or the events of
    a deleted project) stays unmatched, and project rows passed over on the way to a
    later chain have no events at all. No string is compared for order in Python, so
    PostgreSQL's collation (which need not be "C") is never second-guessed.
    """

    def __init__(self, conn: Connection, chain: str | None, span: Span = EVERY_CHAIN) -> None:
        self._conn = conn
        self._span = span
        stmt = in_range(select(t_projects.c.code, t_projects.c.seq, t_projects.c.head_hash),
                         t_projects.c.code, chain, span)
        self._cursor = open_cursor(conn, stmt.order_by(t_projects.c.code), "phasegate_verify_heads")
        self._rows = iter(self._cursor)
        self._next = next(self._rows, None)

    def close(self) -> None:
        self._cursor.close()

    def take(self, name: str) -> tuple[int, str] | None:
        """(length, head) the project ``name`` records, or None if there is no such project."""
        nxt = self._next
        if nxt is not None and nxt[0] == name:
            self._next = next(self._rows, None)
            return nxt[1], nxt[2]
        found = self._conn.execute(
            select(t_projects.c.seq, t_projects.c.head_hash).where(t_projects.c.code == name)
        ).first()
        if found is None:
            return None
        while self._next is not None and self._next[0] != name:
            self._pass_over()
        if self._next is not None:
            self._next = next(self._rows, None)
        return found.seq, found.head_hash

    def _pass_over(self) -> None:
        code, seq, _ = self._next
        if seq > 0 and self._passed is None:
            self._passed = code
        self._next = next(self._rows, None)

    def _owing(self) -> Select[Any]:
        """The projects that record events (of the span)."""
        stmt = in_range(select(t_projects.c.code), t_projects.c.code, None, self._span)
        return stmt.where(t_projects.c.seq > 0)



# -- the pass ---------------------------------------------------------------------------------------


class _Prefixes:
    """The length-prefixed pieces of the encoding that repeat from event to event, made once.

    ``seq[n]`` is ``"<len>:<n>"`` and ``length[n]`` is ``"<n>:"`` (lists: an index must
    be an int, so a value of another type misses); ``text`` maps an actor, action or
    phase to ``"<len>:<text>"`` (``"~"`` for an absent phase). A miss raises in the hot
    loop, the row is checked the slow way and :meth:`learn` adds its pieces. Every
    table has a bound (the text dict is emptied when it reaches its own), so memory
    stays bounded whatever the data; past the bound a row just takes the slow way.
    """

    BOUND = 1 << 16
    TEXT_BOUND = 4096

    def __init__(self) -> None:
        self.seq: list[str] = []
        self.length: list[str] = []
        self.text: dict[str | None, str] = {None: "~"}
        self._grow(self.seq, 256, lambda i: f"{len(str(i))}:{i}")
        self._grow(self.length, 1024, lambda i: f"{i}:")

    def _grow(self, table: list[str], upto: int, piece: Callable[[int], str]) -> None:
        if len(table) <= upto < self.BOUND:
            table.extend(piece(i) for i in range(len(table), upto + 1))

    def learn(self, seq: Any, at: Any, actor: Any, action: Any, phase: Any, data: Any) -> None:
        if type(seq) is int and seq > 0:
            self._grow(self.seq, seq, lambda i: f"{len(str(i))}:{i}")
        for v in (at, data):
            if isinstance(v, str):
                self._grow(self.length, len(v), lambda i: f"{i}:")
        for v in (actor, action, phase):
            if type(v) is str and v not in self.text:
                if len(self.text) >= self.TEXT_BOUND:
                    self.text.clear()
                    self.text[None] = "~"
                self.text[v] = f"{len(v)}:{v}"


class _Tally:
    """How far one pass got (the events of the chains finished, the chains begun), and its report."""

    def __init__(self, checkpoint_chains: int | None, collect: Heads | None, label: str) -> None:
        self.checkpoint_chains = checkpoint_chains
        self.collect = collect
        self.label = label
        self.done = 0  # events of the chains already finished
        self.chains = 0
        self.rowless: tuple[str, int] | None = None  # the first project chain without a row, its length

    def report(self, broken: BrokenEvent | None, checked: int) -> AuditReport:
        return AuditReport(ok=broken is None, events_checked=checked, chains_checked=self.chains,
                           first_broken=broken, checkpoint_chains=self.checkpoint_chains)

    def chain_ended(self, name: str, length: int, head: str, recorded: tuple[int, str] | None,
                    cp_len: int) -> AuditReport | None:
        """A chain's last event was read: check its end, and collect its head for a checkpoint.

        Returns the failed pass's report, or None (the chain's events are counted done).
        """
        broken = chain_end(name, length, head, recorded, cp_len, self.label)
        if broken is not None:
            return self.report(broken, self.done + length)
        if recorded is None and name != SYSTEM_CHAIN and self.rowless is None:
            self.rowless = (name, length)
        if self.collect is not None:
            self.collect[name] = (length, head)
        self.done += length
        return None

    def unread(self, pending: Mapping[str, tuple[int, str]]) -> AuditReport:
        """After the pass: a checkpoint's chain that no event was read for is missing whole; then,
        the chains intact, the first project chain whose row is gone."""
        for name, (length, _) in sorted(pending.items()):
            if length > 0:
                missing = f"the whole chain is missing ({self.label} recorded {length} events)"
                return self.report(BrokenEvent(name, 1, "missing", missing), self.done)
        if self.rowless is not None:
            name, length = self.rowless
            return self.report(BrokenEvent(name, length, STATE_DIFFERS, missing_row(length)), self.done)
        return self.report(None, self.done)


@contextmanager
def _streams(conn: Connection, chain: str | None, span: Span) -> Iterator[tuple[_ProjectHeads, Any]]:
    """The project heads and the events, both in chain order, both closed however the pass ends."""
    heads = _ProjectHeads(conn, chain, span)
    cursor = None
    try:
        cursor = open_cursor(conn, events_in_order(chain, span), "phasegate_verify")
        yield heads, cursor
    finally:
        if cursor is not None:
            cursor.close()
        heads.close()


def verify_chains(conn: Connection, chain: str | None = None, *,
                  checkpoint: Mapping[str, tuple[int, str]] | None = None, collect: Heads | None = None,
                  checkpoint_label: str = "the checkpoint", span: Span = EVERY_CHAIN) -> AuditReport:
    """Verify every chain (or one, or those in ``span``) in one streaming pass.

    ``checkpoint`` (chain -> length, head hash) additionally requires every recorded
    chain to still reach its recorded length with the recorded hash there; pass only
    the entries that fall in ``span`` (:func:`within`). ``collect`` receives every
    verified chain's (length, head hash), for writing a checkpoint from the same pass.
    Memory does not grow with the number of events or of chains (only ``checkpoint``
    and ``collect``, which the caller holds, do).
    """
    pending = {k: v for k, v in (checkpoint or {}).items() if chain is None or k == chain}
    tally = _Tally(len(pending) if checkpoint is not None else None, collect, checkpoint_label)
    with _streams(conn, chain, span) as (heads, cursor):
        failed = _walk(conn, cursor, heads, pending, tally)
        if failed is not None:
            return failed
        if (chainless := heads.chainless()) is not None:
            return tally.report(BrokenEvent(chainless, 1, "missing", "the project's whole chain is missing"),
                                tally.done)
    return tally.unread(pending)


def _walk(conn: Connection, cursor: Any, heads: _ProjectHeads, pending: dict[str, tuple[int, str]],
          tally: _Tally) -> AuditReport | None:
    """Every event in chain order; the failed pass's report, or None when every chain read is intact.

    The hot loop (benchmarks/bench_verify.py): kept in one frame, every name it touches
    per row a local, because a call or an attribute look-up per row costs the verifier
    a measurable share of its rate. ``pending`` loses the entries of the chains read.
    """
    prefixes = _Prefixes()
    seqs, lengths, texts = prefixes.seq, prefixes.length, prefixes.text
    digest = sha256
    length = len
    chain_ended = tally.chain_ended
    # The state of the chain being read (the first row always starts a chain).
    current: str | None = None
    head = ""  # its length-prefixed name, the same in every event of the chain
    recorded: tuple[int, str] | None = None
    next_seq, prev_hash, cp_len, cp_hash = 1, GENESIS, 0, ""
    label = tally.label
    for name, seq, at, actor, action, phase, data, stored_prev, stored_hash in cursor:
        if name != current:
            if current is not None:
                failed = chain_ended(current, next_seq - 1, prev_hash, recorded, cp_len)
                if failed is not None:
                    return failed
            current = name
            tally.chains += 1
            head = f"{length(name)}:{name}"
            recorded = heads.take(name)
            next_seq, prev_hash = 1, GENESIS
            cp_len, cp_hash = pending.pop(name, (0, ""))
        # The hot path: audit.event_hash inlined, its repeating pieces from the prefix caches
        # (a test pins fast_hash, the slow path's hash, to audit.event_hash). Any doubt, a cache
        # miss included, goes to check_row, which runs every check in order.
        try:
            if (seq == next_seq and stored_prev == prev_hash and seq != cp_len
                    and digest(f"{stored_prev}{head}{seqs[seq]}{lengths[length(at)]}{at}{texts[actor]}"
                               f"{texts[action]}{texts[phase]}{lengths[length(data)]}{data}".encode()
                               ).hexdigest() == stored_hash):
                prev_hash = stored_hash
                next_seq += 1
                continue
        except (LookupError, TypeError):
            pass
        row = (name, seq, at, actor, action, phase, data, stored_prev, stored_hash)
        if broken := check_row(conn, row, next_seq, prev_hash, cp_len, cp_hash, label):
            return tally.report(broken, tally.done + next_seq)
        prefixes.learn(seq, at, actor, action, phase, data)
        prev_hash = stored_hash
        next_seq += 1
    if current is not None:
        return chain_ended(current, next_seq - 1, prev_hash, recorded, cp_len)
    return None
