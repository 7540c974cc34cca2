"""How every project command runs: one transaction that locks the project, checks the rules
against what it read, and appends one event that moves the chain head (and the state) with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from workflow.domain import inputs, rules
from workflow.domain.audit.events import Event, canonical_json, new_event
from workflow.domain.identity import Identity, acting
from workflow.domain.notify.asks import asks_of
from workflow.domain.rules import Context
from workflow.domain.schedule.clock import moves
from workflow.domain.state import ProjectState
from workflow.engine.visibility import missing_project
from workflow.errors import PreconditionFailed
from workflow.storage.chains import append_project_event
from workflow.storage.database import event_time
from workflow.storage.outbox import queue
from workflow.storage.project_rows import locked_project
from workflow.storage.requests import apply_once
from workflow.storage.store import Store
from workflow.storage.tables import events as t_events
from workflow.storage.tx import WriteTx

Body = Callable[[Context, WriteTx], Event]


def project_command(
    store: Store,
    code: str,
    actor: str | Identity,
    request_id: str | None,
    command: dict[str, Any],
    body: Body,
    expected_seq: int | None = None,
) -> Event:
    """Run ``body`` on project ``code`` locked for ``actor``; ``command`` names it for request ids.

    ``expected_seq``: the project's last event as the caller saw it (HTTP ``If-Match``);
    checked under the lock, so nobody signs a state they did not see.
    """
    code = inputs.project_code(code)
    who = acting(actor)

    def work(tx: WriteTx) -> Event:
        loaded = locked_project(tx, code, who.person)
        if loaded is None:
            raise missing_project(tx, code, who.person)
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
        return body(ctx, tx)

    return write_once(store, request_id, who.person, {"code": code, **command}, work)


def write_once(
    store: Store,
    request_id: str | None,
    actor: str,
    command: dict[str, Any],
    work: Callable[[WriteTx], Event],
) -> Event:
    """``work`` in one write transaction; with a request id, applied once per id."""
    if request_id is None:
        return store.write(work)
    rid = inputs.text(request_id, "the request id", required=True, max_len=128, multiline=False)
    assert rid is not None
    fingerprint = canonical_json(command)
    return store.write(lambda tx: apply_once(tx, rid, actor, fingerprint, work))


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
    moved = dict(moved or {})
    definition = ctx.tpl.definition
    full: dict[str, Any] = {
        "template": ctx.tpl.ref,
        "phase_title": ctx.phase.title,
        "round": state.round,
        **data,
    }
    full["auth"] = ctx.auth
    if authority is not None:
        full["role"] = authority
        full["role_title"] = ctx.role_title(authority)
        full["authority"] = {"role": authority, "assignment_seq": state.authority.get((authority, ctx.actor))}
    if state.due_on or state.gate_opened_at or state.planned_due or ctx.tpl.timed or action == "due":
        held_at = _held_at(tx, state) if action == "resume" else None
        changes = moves(definition, ctx.phase, state.status, state.tasks, state.clock, action, full, moved,
                        ctx.now, held_at)
        moved.update(changes)
        if "due_on" in changes and (changes["due_on"] or state.due_on) and action != "due":
            full["due_on"] = changes["due_on"]  # a new round's due date is on the record
        if "gate_opened_at" in changes and changes["gate_opened_at"] != state.gate_opened_at:
            full["gate_opened_at"] = changes["gate_opened_at"]  # so is the gate's opening (for reminders)
    event = new_event(
        state.code, state.seq + 1, state.head_hash, ctx.now, ctx.actor, action, state.phase, full
    )
    event = append_project_event(tx, state, event, moved)
    asks = asks_of(definition, ctx.phase, state.status, state.team,
                   {r: t.person for r, t in state.tasks.items()},
                   {r: a.person for r, a in state.approvals.items()}, action, full, moved, ctx.actor)
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
