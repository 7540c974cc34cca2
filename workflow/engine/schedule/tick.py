"""``phasegate tick``: the clock's turn. Every project whose next moment has come gets, in one
transaction under its lock, the overdue notices, reminders and escalations it is owed, each an
event on its chain with its notifications in the outbox.

Safe from cron every minute and on any number of hosts at once: each notice is given once per
project, phase, round, kind and person, because the ``timers`` table's primary key says so
(the project lock only saves a second host the work). The projects due are found through the
partial index on ``projects.next_tick_at``, a page at a time, so a tick reads only what is due.

A tick acts at the real time only: every event it writes is dated at the real time of its
transaction. ``tick(now=T)`` is a try-out (:func:`try_out`): it reads what a tick at ``T``
would give and writes nothing at all, so trying a schedule never puts a moment that has not
happened on the record nor sends a notification. (Tests move time with the process's clock,
``storage.database.set_clock``, never through an option a person can pass.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from sqlalchemy import insert, select, tuple_, update

from workflow.domain import inputs
from workflow.domain.audit.events import Event
from workflow.domain.notify.asks import tick_asks
from workflow.domain.results import Notice, TickReport
from workflow.domain.rules import Context
from workflow.domain.schedule.clock import Due, due_now, next_tick
from workflow.domain.state import ProjectState
from workflow.domain.templates.definition import Phase
from workflow.domain.templates.version import TemplateVersion
from workflow.domain.vocabulary import ACTIVE, SYSTEM, SYSTEM_ACTOR
from workflow.engine.running import record
from workflow.storage.database import event_time, utcnow
from workflow.storage.grants import holders
from workflow.storage.outbox import queue
from workflow.storage.project_rows import locked_project, read_project
from workflow.storage.store import Store
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import timers as t_timers
from workflow.storage.transaction import ReadTx, WriteTx

PAGE = 500


def tick(store: Store, *, now: str | None = None, on_event: Callable[[Event], None] | None = None
         ) -> TickReport:
    """Give every project what its clock owes now (the real time).

    ``now``: a try-out instead (:func:`try_out`): what a tick at that moment (ISO 8601, years 1
    to 9999) would give, with nothing written.
    """
    if now is not None:
        return try_out(store, now)
    at = utcnow()
    report = TickReport(at)
    for code in _due_codes(store, at):
        report.projects += 1
        for event in store.write(partial(_tick_project, code=code)):
            report.events.append(event)
            if on_event is not None:
                on_event(event)
    return report


def try_out(store: Store, moment: str) -> TickReport:
    """What a tick at ``moment`` would give every project due by then, read and never written: no
    event, no timer, no notification, and the projects' clocks stay where they are."""
    at = inputs.normalize_time(moment)
    report = TickReport(at, dry_run=True)
    for code in _due_codes(store, at):
        report.projects += 1
        report.would.extend(store.read(partial(_would_give, code=code, now=at)))
    return report


def _due_codes(store: Store, at: str) -> Iterator[str]:
    """The codes of the projects whose next moment is at or before ``at``, a page at a time."""
    cursor: tuple[str, str] | None = None
    while True:
        page = store.read(partial(_due_projects, now=at, cursor=cursor))
        for moment, code in page:
            yield code
            cursor = (moment, code)
        if len(page) < PAGE:
            return


def _due_projects(tx: ReadTx, *, now: str, cursor: tuple[str, str] | None) -> list[tuple[str, str]]:
    p = t_projects.c
    stmt = select(p.next_tick_at, p.code).where(p.next_tick_at.is_not(None), p.next_tick_at <= now)
    if cursor is not None:
        stmt = stmt.where(tuple_(p.next_tick_at, p.code) > tuple_(*cursor))
    return [(r[0], r[1]) for r in tx.core(stmt.order_by(p.next_tick_at, p.code).limit(PAGE))]


def _owed(tx: ReadTx, state: ProjectState, now: str) -> tuple[TemplateVersion, Phase, list[Due]]:
    """What ``state``'s clock owes at ``now`` and has not given yet in this round."""
    tpl = tx.template(state.template_id)
    definition = tpl.definition
    phase = state.phase_of(definition)
    t = t_timers.c
    given = {(r.kind, r.person) for r in tx.core(select(t.kind, t.person).where(
        t.project_id == state.id, t.phase == state.phase, t.round == state.round))}
    gate = phase.gate
    admins = holders(tx, "admin") if gate is not None and gate.escalate_to == "admin" else []
    owed = due_now(definition, phase, state.clock, now, state.team,
                   {r: d.person for r, d in state.tasks.items()},
                   {r: a.person for r, a in state.approvals.items()}, admins, given)
    return tpl, phase, owed


def _is_due(state: ProjectState, now: str) -> bool:
    return state.status == ACTIVE and state.next_tick_at is not None and state.next_tick_at <= now


def _would_give(tx: ReadTx, *, code: str, now: str) -> list[Notice]:
    loaded = read_project(tx, code, SYSTEM_ACTOR)
    if loaded is None or not _is_due(loaded[0], now):
        return []
    state = loaded[0]
    _tpl, _phase, owed = _owed(tx, state, now)
    return [Notice(code, state.phase, state.round, due.kind, due.people, due.waiting_on) for due in owed]


def _tick_project(tx: WriteTx, *, code: str) -> list[Event]:
    loaded = locked_project(tx, code, SYSTEM_ACTOR)
    if loaded is None:
        return []
    state, _privileges = loaded
    now = utcnow()  # this transaction's time, under the project's lock
    if not _is_due(state, now):
        return []  # another tick got here first, or a command moved the clock
    tpl, phase, owed = _owed(tx, state, now)
    events = []
    for due in owed:
        ctx = Context(state, tpl, SYSTEM_ACTOR, frozenset(), event_time(state.updated_at), SYSTEM)
        event = record(ctx, tx, due.kind, _data(due, state, phase.gate), authority=None)
        tx.conn.execute(insert(t_timers), [
            {"project_id": state.id, "phase": state.phase, "round": state.round, "kind": due.kind,
             "person": person, "seq": event.seq} for person in due.people])
        queue(tx, event, tick_asks(due.kind, due.people), event.at)
        tx.flush()  # the next event of this chain, and the clock's update below, follow this head move
        state = state._replace(seq=event.seq, head_hash=event.hash, updated_at=event.at)
        events.append(event)
    tx.core(update(t_projects).where(t_projects.c.id == state.id).values(
        next_tick_at=next_tick(phase, state.clock, after=now)))
    return events


def _data(due: Due, state: ProjectState, gate: Any) -> dict[str, Any]:
    if due.kind == "overdue":
        return {"due_on": state.due_on, "people": list(due.people)}
    data = {"gate": gate.title, "people": list(due.people), "gate_opened_at": state.gate_opened_at}
    if due.kind == "remind":
        return {**data, "after": gate.remind_after}
    return {**data, "after": gate.escalate_after, "to": gate.escalate_to, "waiting_on": list(due.waiting_on)}
