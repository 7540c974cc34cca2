"""How a transaction runs, top to bottom: every write phasegate makes goes through this module.

A project command (:func:`project_command`) is one write transaction that

1. answers a repeated request id with its first outcome (and runs nothing again);
2. locks the project's row and reads its round, its team's grants and the outbox's
   recipients with it (one round trip; ``Dialect.locked_project``);
3. checks who may act (a party to the project), then the sequence number the caller
   saw (HTTP ``If-Match``), both under the lock;
4. runs the command's body, which checks its own rules and calls :func:`record`:
   the event, the project's head and state moved with it, the schedule's moves and
   the outbox's notifications, all in the same transaction;
5. stores the request id's outcome, and commits.

:func:`run_write` runs that (or any other write) and retries it whole when it loses a
race (a serialization failure, a deadlock, a busy SQLite file, a chain head another
writer moved); the user sees :class:`~workflow.errors.Conflict` only when the retries
run out. Nothing half-written ever stays. A COMMIT that fails may still have landed: the
last event written is looked up (:func:`landed`) before anything runs again.

What differs between the backends (locks, when the writes are sent) is asked of the
dialect (:mod:`workflow.storage.dialects`), never tested here.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from workflow.domain import inputs, rules
from workflow.domain.audit.events import SYSTEM_CHAIN, Event, canonical_json, event_from_dict, new_event
from workflow.domain.identity import Identity, acting
from workflow.domain.notify.asks import asks_of
from workflow.domain.rules import Context
from workflow.domain.schedule.clock import moves
from workflow.domain.state import ProjectState
from workflow.errors import Conflict, DatabaseProblem, PhasegateError, PreconditionFailed
from workflow.storage import dbapi
from workflow.storage import statements as sql
from workflow.storage.chains import append_project_event
from workflow.storage.connections import (
    command_transaction,
    read_transaction,
    snapshot_transaction,
    write_transaction,
)
from workflow.storage.database import event_time, lock_wait_seconds
from workflow.storage.failures import translate_error
from workflow.storage.outbox import queue
from workflow.storage.project_rows import locked_project
from workflow.storage.statements import Statement
from workflow.storage.tables import events as t_events

if TYPE_CHECKING:
    from sqlalchemy.sql import Executable

    from workflow.domain.templates.version import TemplateVersion
    from workflow.storage.dialects import Dialect
    from workflow.storage.outbox import Recipients
    from workflow.storage.store import Store
    from workflow.storage.templates import TemplateCache

R = TypeVar("R")
MAX_ATTEMPTS = 10

Body = Callable[[Context, "WriteTx"], Event]
# The refusal for a project that is not there, as the actor may learn of it (engine/visibility.py).
Missing = Callable[["ReadTx", str, str], PhasegateError]


class ReadTx:
    """A transaction's connection with phasegate's ways of reading through it."""

    __slots__ = ("_hooked", "_raw", "_style", "conn", "dialect", "templates")

    def __init__(self, conn: Connection, dialect: Dialect, templates: TemplateCache) -> None:
        self.conn = conn
        self.dialect = dialect
        self.templates = templates
        self._style = dialect.paramstyle
        # Asked once a transaction, not once a statement (storage/dbapi.py).
        self._raw = conn.connection.dbapi_connection
        self._hooked = bool(conn.dispatch.before_cursor_execute)

    def execute(self, stmt: Statement, **values: Any) -> Any:
        """One of the prepared statements (statements.py), on the DBAPI cursor; returns the cursor."""
        return dbapi.run(self.conn, self._raw, self._hooked, stmt.texts[self._style], stmt.args(values))

    def run(self, stmt: Statement, values: Mapping[str, Any]) -> Any:
        """:meth:`execute` with the values as a mapping."""
        return dbapi.run(self.conn, self._raw, self._hooked, stmt.texts[self._style], stmt.args(values))

    def core(self, clause: Executable) -> Any:
        """A SQLAlchemy Core statement (everything off the write path)."""
        return self.conn.execute(clause)

    def template(self, template_id: int) -> TemplateVersion:
        return self.templates.get(self, template_id)


class WriteTx(ReadTx):
    """A write transaction: reads, plus the command's writes and what this attempt has written.

    ``written``: the events inserted, oldest first (the retry loop asks whether the last one
    landed after a failed COMMIT); ``deferred``: PostgreSQL's writes, sent with the COMMIT.
    """

    __slots__ = ("deferred", "recipients", "written")

    def __init__(self, conn: Connection, dialect: Dialect, templates: TemplateCache) -> None:
        ReadTx.__init__(self, conn, dialect, templates)
        self.written: list[Event] = []
        self.deferred: list[tuple[str, tuple[Any, ...]]] = []
        self.recipients: Recipients | None = None  # read with the locked project (storage/outbox.py)

    def write(self, stmt: Statement, values: Mapping[str, Any], *, one_row: bool = False) -> None:
        """One of the command's own rows: written now (SQLite) or with the COMMIT (PostgreSQL).

        ``one_row``: the statement must change exactly one row (a chain head's move).
        """
        self.dialect.write(self, stmt, values, one_row=one_row)

    def flush(self) -> None:
        """The writes so far sent to the database now (PostgreSQL holds them for the COMMIT)."""
        self.dialect.flush(self)

    def record(self, event: Event) -> dict[str, Any]:
        """Note ``event`` as written by this attempt; returns the values of its row."""
        self.written.append(event)
        return {"chain": event.chain, "seq": event.seq, "at": event.at, "actor": event.actor,
                "action": event.action, "phase": event.phase, "data": event.data_json,
                "prev_hash": event.prev_hash, "hash": event.hash}


# -- a project command ---------------------------------------------------------------------------


def project_command(
    store: Store,
    code: str,
    actor: str | Identity,
    request_id: str | None,
    command: dict[str, Any],
    body: Body,
    expected_seq: int | None = None,
    *,
    missing: Missing,
) -> Event:
    """Run ``body`` on project ``code`` locked for ``actor``; ``command`` names it for request ids.

    ``expected_seq``: the project's last event as the caller saw it (HTTP ``If-Match``);
    checked under the lock, so nobody signs a state they did not see.
    """
    code = inputs.project_code(code)
    who = acting(actor)
    once = None if request_id is None else _request(request_id, who.person, {"code": code, **command})

    def work(tx: WriteTx) -> Event:
        if once is not None and (prior := _prior_outcome(tx, *once)) is not None:
            return prior
        loaded = locked_project(tx, code, who.person)
        if loaded is None:
            raise missing(tx, code, who.person)
        state, privileges = loaded
        # The real time of this transaction (held to the project's last event only within the hosts'
        # clock skew: database.event_time).
        now = event_time(state.updated_at)
        ctx = Context(state, tx.template(state.template_id), who.person, privileges, now, who.auth)
        rules.require_party(ctx)
        if expected_seq is not None and expected_seq != state.seq:
            raise PreconditionFailed(
                f"project {code} has moved on since it was read (it is at event {state.seq}, the request "
                f"was made at event {expected_seq}); read it again before acting"
            )
        event = body(ctx, tx)
        if once is not None:
            _remember(tx, once, event)
        return event

    return run_write(store, work)


def write_once(store: Store, request_id: str | None, actor: str, command: dict[str, Any],
               work: Callable[[WriteTx], Event]) -> Event:
    """``work`` in one write transaction; with a request id, applied once per id."""
    once = _request(request_id, actor, command)
    if once is None:
        return run_write(store, work)

    def applied_once(tx: WriteTx) -> Event:
        prior = _prior_outcome(tx, *once)
        if prior is not None:
            return prior
        event = work(tx)
        _remember(tx, once, event)
        return event

    return run_write(store, applied_once)


# A request id, its actor and its command's fingerprint (canonical JSON of the command's arguments:
# one id used for two different commands is a conflict, not a repeat).
Once = tuple[str, str, str]


def _request(request_id: str | None, actor: str, command: dict[str, Any]) -> Once | None:
    if request_id is None:
        return None
    rid = inputs.text(request_id, "the request id", required=True, max_len=128, multiline=False)
    assert rid is not None
    return rid, actor, canonical_json(command)


def _prior_outcome(tx: WriteTx, request_id: str, actor: str, fingerprint: str) -> Event | None:
    """The first outcome of ``request_id``, or None when it is new. The outcome (the command's
    event) is stored in the command's own transaction, so a retry after a lost acknowledgement
    finds it whatever happened to the client."""
    prior = tx.dialect.prior_request(tx, request_id)
    if prior is None:
        return None
    prior_actor, prior_command, prior_outcome = prior
    if prior_actor != actor or prior_command != fingerprint:
        raise Conflict(f"request id {inputs.shown(request_id)} was already used for a different command")
    return event_from_dict(json.loads(prior_outcome))


def _remember(tx: WriteTx, once: Once, event: Event) -> None:
    request_id, actor, fingerprint = once
    outcome = canonical_json(event.to_dict())
    tx.write(sql.PUT_REQUEST, {"request_id": request_id, "actor": actor, "command": fingerprint,
                               "outcome": outcome, "at": event.at})


def record(
    ctx: Context,
    tx: WriteTx,
    action: str,
    data: dict[str, Any],
    *,
    authority: str | None,
    moved: dict[str, Any] | None = None,
) -> Event:
    """Append the command's event to the project's chain; ``moved``: the state fields it changes.

    Every event says under which template version it happened, in which phase and round,
    and, where a role gave the actor the right to act, which role and which assignment.
    With it go the schedule's moves (a new round's due date is on the record) and the
    notifications the event owes, in the same transaction.
    """
    state = ctx.state
    phase = ctx.phase  # looked up once: the record, the schedule and the asks all need it
    moved = dict(moved or {})
    definition = ctx.tpl.definition
    # (evidence: how an external signer proved who they are, workflow/engine/links/)
    full: dict[str, Any] = {"template": ctx.tpl.ref, "phase_title": phase.title, "round": state.round,
                            **data, "auth": ctx.auth, **(ctx.evidence or {})}
    if authority is not None:  # a delegate acts under the assignment of the person they act for
        full["role"], full["role_title"] = authority, ctx.role_title(authority)
        holder = data.get("on_behalf_of") or ctx.actor
        full["authority"] = {"role": authority, "assignment_seq": state.authority.get((authority, holder))}
    if state.due_on or state.gate_opened_at or state.planned_due or ctx.tpl.timed or action == "due":
        held_at = _held_at(tx, state) if action == "resume" else None
        changes = moves(definition, phase, state.status, state.tasks, state.clock, action, full, moved,
                        ctx.now, held_at)
        moved.update(changes)
        if "due_on" in changes and (changes["due_on"] or state.due_on) and action != "due":
            full["due_on"] = changes["due_on"]  # a new round's due date is on the record
        if "gate_opened_at" in changes and changes["gate_opened_at"] != state.gate_opened_at:
            full["gate_opened_at"] = changes["gate_opened_at"]  # so is the gate's opening (for reminders)
    event = new_event(state.code, state.seq + 1, state.head_hash, ctx.now, ctx.actor, action, state.phase,
                      full)
    event = append_project_event(tx, state, event, moved)
    asks = asks_of(definition, phase, state.status, state.team, {r: t.person for r, t in state.tasks.items()},
                   {r: a.person for r, a in state.approvals.items()}, action, full, moved, ctx.actor,
                   state.duties(ctx.now))
    if asks:
        queue(tx, event, asks, ctx.now)
    return event


def _held_at(tx: WriteTx, state: ProjectState) -> str | None:
    """When the hold a resume ends began (its event's time)."""
    if state.hold_seq is None:
        return None
    hold = select(t_events.c.at).where(t_events.c.chain == state.code, t_events.c.seq == state.hold_seq)
    at: str | None = tx.core(hold).scalar()
    return at


# -- running a transaction -----------------------------------------------------------------------


def run_write(store: Store, work: Callable[[WriteTx], R]) -> R:
    """Run ``work`` in one write transaction, retrying lost races; nothing half-written stays.

    When the COMMIT itself fails (a dropped connection, an I/O error), the transaction may
    have landed on the server even though the client got an error: a lost acknowledgement.
    Running the command again would then say "already done" or move the project twice, so
    the last event this attempt wrote is looked up first (:func:`landed`); if it is there,
    the command succeeded and its result is returned.
    """
    dialect = store.dialect
    delay = 0.005
    started = time.monotonic()  # the lock wait is read only when a command has to wait
    for attempt in range(1, MAX_ATTEMPTS + 1):
        committing = False
        tx: WriteTx | None = None
        try:
            with command_transaction(store.sqlalchemy, store.held, dialect) as conn:
                tx = WriteTx(conn, dialect, store.templates)
                result = work(tx)
                committing = True  # an error from here on comes from the COMMIT
                dialect.finish(tx)
            return result
        except PhasegateError:
            raise
        except DBAPIError as exc:
            if (committing and tx is not None and tx.written
                    and _answer_after_failed_commit(store, tx.written[-1], exc)):
                return result
            # A dropped connection before the COMMIT landed changed nothing: run it again.
            retryable = dialect.is_retryable(exc) or isinstance(exc, IntegrityError)
            if not (retryable or exc.connection_invalidated):
                raise translate_error(exc, store.sqlalchemy.url) from exc
            if dialect.is_busy(exc) and (attempt == MAX_ATTEMPTS
                                         or time.monotonic() >= started + lock_wait_seconds()):
                raise Conflict(
                    f"the database is locked by another writer (waited {lock_wait_seconds():g} s); nothing "
                    f"was changed, try again"
                ) from exc
            if attempt == MAX_ATTEMPTS:
                if exc.connection_invalidated:
                    raise translate_error(exc, store.sqlalchemy.url) from exc
                raise Conflict(
                    f"the data changed meanwhile and the command could not be applied after "
                    f"{MAX_ATTEMPTS} attempts; nothing was changed, run it again"
                ) from exc
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.25)
    raise AssertionError("unreachable")


def _answer_after_failed_commit(store: Store, last: Event, exc: DBAPIError) -> bool:
    """True if the failed COMMIT landed after all; raises if the database cannot say."""
    found = landed(store, last)
    if found is None:
        cause = translate_error(exc, store.sqlalchemy.url).message.rstrip(".")
        raise DatabaseProblem(
            f"{cause} while saving the change, and the database could not be asked whether it was "
            f"saved; look at the history before running the command again (or repeat it with the "
            f"same --request-id)"
        ) from exc
    return found


def landed(store: Store, event: Event) -> bool | None:
    """Whether the transaction that wrote ``event`` committed; None when the database can't say.

    The check takes the lock the command took (the project row, or the system chain's lock),
    so it waits for a COMMIT still in flight on the old connection instead of racing it.
    """
    try:
        with write_transaction(store.sqlalchemy) as conn:
            tx = WriteTx(conn, store.dialect, store.templates)
            store.dialect.lock_chain(tx, event.chain, system=event.chain == SYSTEM_CHAIN)
            stored = conn.execute(
                select(t_events.c.hash).where(t_events.c.chain == event.chain, t_events.c.seq == event.seq)
            ).first()
            return stored is not None and stored.hash == event.hash
    except (DBAPIError, DatabaseProblem):
        return None


def run_read(store: Store, work: Callable[[ReadTx], R]) -> R:
    """Run ``work`` in a read transaction (one snapshot on SQLite; READ COMMITTED on PostgreSQL)."""
    try:
        with read_transaction(store.sqlalchemy, store.held) as conn:
            return work(ReadTx(conn, store.dialect, store.templates))
    except PhasegateError:
        raise
    except DBAPIError as exc:
        raise translate_error(exc, store.sqlalchemy.url) from exc


def run_snapshot(store: Store, work: Callable[[ReadTx], R]) -> R:
    """Like :func:`run_read`, in one snapshot on every backend (REPEATABLE READ on PostgreSQL)."""
    try:
        with snapshot_transaction(store.sqlalchemy) as conn:
            return work(ReadTx(conn, store.dialect, store.templates))
    except PhasegateError:
        raise
    except DBAPIError as exc:
        raise translate_error(exc, store.sqlalchemy.url) from exc
