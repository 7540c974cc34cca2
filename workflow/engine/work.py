"""Doing a phase's work: tasks, gate sign-offs, and the lead's moves through the machine."""

from __future__ import annotations

from typing import Any

from workflow.domain import inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.identity import Identity
from workflow.domain.rules import Context
from workflow.domain.templates.machine import settle
from workflow.domain.vocabulary import COMPLETED, ON_HOLD
from workflow.engine.commands import implements
from workflow.engine.running import project_command, record
from workflow.storage import statements as sql
from workflow.storage.store import Store
from workflow.storage.transaction import WriteTx


def meaning(gate_title: str, phase_title: str, round_no: int) -> str:
    """What a signature means, recorded with it: "QA sign-off for Production Review QA, round 2"."""
    return f"{gate_title} for {phase_title}, round {round_no}"


@implements("complete_task")
def complete_task(
    store: Store,
    code: str,
    role: str,
    *,
    actor: str | Identity,
    note: str | None = None,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    note = inputs.text(note, "the note")

    def body(ctx: Context, tx: WriteTx) -> Event:
        task = rules.may_complete_task(ctx, role)
        phase = ctx.phase
        tx.write(
            sql.INSERT_TASK,
            {
                "project_id": ctx.state.id,
                "phase": phase.key,
                "round": ctx.state.round,
                "role": role,
                "person": ctx.actor,
                "note": note,
                "done_at": ctx.now,
                "seq": ctx.state.seq + 1,
                "auth": ctx.auth,
            },
        )
        return record(ctx, tx, "task.done", {"task": task, "note": note}, authority=role)

    return project_command(
        store,
        code,
        actor,
        request_id,
        {"command": "task.done", "role": role, "note": note},
        body,
        expected_seq=expected_seq,
    )


@implements("approve")
def approve(
    store: Store,
    code: str,
    role: str,
    *,
    actor: str | Identity,
    comment: str | None = None,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    comment = inputs.text(comment, "the comment")

    def body(ctx: Context, tx: WriteTx) -> Event:
        gate = rules.may_approve(ctx, role)
        tx.write(
            sql.INSERT_APPROVAL,
            {
                "project_id": ctx.state.id,
                "phase": ctx.state.phase,
                "round": ctx.state.round,
                "role": role,
                "person": ctx.actor,
                "comment": comment,
                "approved_at": ctx.now,
                "seq": ctx.state.seq + 1,
                "auth": ctx.auth,
            },
        )
        data = {
            "gate": gate.title,
            "decision": "approved",
            "comment": comment,
            "meaning": meaning(gate.title, ctx.phase.title, ctx.state.round),
        }
        return record(ctx, tx, "approve", data, authority=role)

    return project_command(
        store,
        code,
        actor,
        request_id,
        {"command": "approve", "role": role, "comment": comment},
        body,
        expected_seq=expected_seq,
    )


@implements("withdraw")
def withdraw(
    store: Store,
    code: str,
    role: str,
    *,
    actor: str | Identity,
    reason: str | None = None,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    """The signer takes back their approval of the current round's gate (the gate not yet passed)."""
    reason_text = inputs.text(reason, "the reason")

    def body(ctx: Context, tx: WriteTx) -> Event:
        gate, signed = rules.may_withdraw(ctx, role)
        state = ctx.state
        tx.write(
            sql.DELETE_APPROVAL,
            {"project_id": state.id, "phase": state.phase, "round": state.round, "role": role},
        )
        data = {
            "gate": gate.title,
            "decision": "withdrawn",
            "reason": reason_text,
            "meaning": meaning(gate.title, ctx.phase.title, state.round),
            "voided": {"approvals": [{"role": role, "person": signed.person, "seq": signed.seq}]},
        }
        return record(ctx, tx, "withdraw", data, authority=role)

    command = {"command": "withdraw", "role": role, "reason": reason_text}
    return project_command(store, code, actor, request_id, command, body, expected_seq=expected_seq)


@implements("reopen_task")
def reopen_task(
    store: Store,
    code: str,
    role: str,
    *,
    actor: str | Identity,
    reason: str,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    """A holder of ``role`` (or the lead) marks the role's task of the current round not done again."""
    reason_text = inputs.text(reason, "the reason", required=True)

    def body(ctx: Context, tx: WriteTx) -> Event:
        authority, task, done = rules.may_reopen_task(ctx, role)
        state = ctx.state
        tx.write(
            sql.DELETE_TASK,
            {"project_id": state.id, "phase": state.phase, "round": state.round, "role": role},
        )
        data = {
            "task": task,
            "reason": reason_text,
            "voided": {"tasks": [{"role": role, "person": done.person, "seq": done.seq}]},
        }
        return record(ctx, tx, "task.reopen", data, authority=authority)

    command = {"command": "task.reopen", "role": role, "reason": reason_text}
    return project_command(store, code, actor, request_id, command, body, expected_seq=expected_seq)


@implements("reject")
def reject(
    store: Store,
    code: str,
    role: str,
    *,
    actor: str | Identity,
    reason: str,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    reason_text = inputs.text(reason, "the reason", required=True)

    def body(ctx: Context, tx: WriteTx) -> Event:
        gate, dest = rules.may_reject(ctx, role)
        state = ctx.state
        phase, status = settle(dest, state.phase)
        new_round, rounds = state.entered(phase)
        data = {
            "gate": gate.title,
            "decision": "rejected",
            "reason": reason_text,
            "meaning": meaning(gate.title, ctx.phase.title, state.round),
            "to_phase": phase,
            "to_round": new_round,
            "status": status,
            "voided": _current_round(ctx),
        }
        return record(
            ctx,
            tx,
            "reject",
            data,
            authority=role,
            moved={
                "phase": phase,
                "round": new_round,
                "rounds": rounds,
                "status": status,
                "rejection_seq": state.seq + 1,
            },
        )

    return project_command(
        store,
        code,
        actor,
        request_id,
        {"command": "reject", "role": role, "reason": reason_text},
        body,
        expected_seq=expected_seq,
    )


@implements("advance")
def advance(
    store: Store,
    code: str,
    *,
    actor: str | Identity,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    def body(ctx: Context, tx: WriteTx) -> Event:
        lead, dest = rules.may_advance(ctx)
        state = ctx.state
        phase, status = settle(dest, state.phase)
        data: dict[str, Any] = {**_current_round(ctx), "status": status}
        if status == COMPLETED:
            data.update(to_phase=None, to_round=None)
            return record(ctx, tx, "advance", data, authority=lead, moved={"status": status})
        new_round, rounds = state.entered(phase)
        data.update(to_phase=phase, to_round=new_round)
        return record(
            ctx,
            tx,
            "advance",
            data,
            authority=lead,
            moved={"phase": phase, "round": new_round, "rounds": rounds, "status": status},
        )

    return project_command(
        store, code, actor, request_id, {"command": "advance"}, body, expected_seq=expected_seq
    )


def lead_move(
    store: Store,
    code: str,
    trigger: str,
    *,
    actor: str | Identity,
    reason: str | None = None,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    """hold, resume or cancel: the lead fires ``trigger``; the machine says where the project lands."""
    data: dict[str, Any] = (
        {} if trigger == "resume" else {"reason": inputs.text(reason, "the reason", required=True)}
    )

    def body(ctx: Context, tx: WriteTx) -> Event:
        lead, dest = rules.may_lead_move(ctx, trigger)
        state = ctx.state
        _phase, status = settle(dest, state.phase)
        moved: dict[str, Any] = {"status": status}
        if status == ON_HOLD:  # the project points at the event that says why it waits
            moved["hold_seq"] = state.seq + 1
        return record(ctx, tx, trigger, {**data, "status": status}, authority=lead, moved=moved)

    return project_command(
        store, code, actor, request_id, {"command": trigger, **data}, body, expected_seq=expected_seq
    )


@implements("hold")
def hold(
    store: Store,
    code: str,
    *,
    actor: str | Identity,
    reason: str,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    """Put the project on hold (the lead); the reason is recorded and shown while it waits."""
    return lead_move(
        store, code, "hold", actor=actor, reason=reason, request_id=request_id, expected_seq=expected_seq
    )


@implements("resume")
def resume(
    store: Store,
    code: str,
    *,
    actor: str | Identity,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    """Resume a held project in the phase it was held in (the lead)."""
    return lead_move(store, code, "resume", actor=actor, request_id=request_id, expected_seq=expected_seq)


@implements("cancel")
def cancel(
    store: Store,
    code: str,
    *,
    actor: str | Identity,
    reason: str,
    request_id: str | None = None,
    expected_seq: int | None = None,
) -> Event:
    """Cancel the project for good (the lead)."""
    return lead_move(
        store, code, "cancel", actor=actor, reason=reason, request_id=request_id, expected_seq=expected_seq
    )


def _current_round(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """The tasks and approvals of the round being left (an advance counts them, a rejection voids them)."""
    return {
        "tasks": [{"role": r, "person": t.person, "seq": t.seq} for r, t in ctx.state.tasks.items()],
        "approvals": [{"role": r, "person": a.person, "seq": a.seq} for r, a in ctx.state.approvals.items()],
    }
