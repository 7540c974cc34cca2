"""Doing a phase's work: tasks, gate sign-offs, and the lead's moves through the machine.

Each function is the body of the project command of its name (declared in
:mod:`workflow.domain.commands`): it runs in the command's transaction, on the project as locked
(``ctx``), with the declaration's parameters as checked (:func:`workflow.engine.commands.run`).
"""

from __future__ import annotations

from typing import Any

from workflow.domain import deliverables as files
from workflow.domain import rules
from workflow.domain.audit.events import Event
from workflow.domain.duties.signing import Acting
from workflow.domain.rules import Context
from workflow.domain.templates.machine import settle
from workflow.domain.vocabulary import COMPLETED, ON_HOLD
from workflow.engine.commands import implements
from workflow.engine.running import record
from workflow.errors import DeliverablesChanged
from workflow.storage import statements as sql
from workflow.storage.transaction import WriteTx


def meaning(gate_title: str, phase_title: str, round_no: int) -> str:
    """What a signature means, recorded with it: "QA sign-off for Production Review QA, round 2"."""
    return f"{gate_title} for {phase_title}, round {round_no}"


def _behalf(acting: Acting) -> dict[str, Any]:
    """What an event records of a delegate acting: for whom, and through which delegation."""
    if acting.delegation is None:
        return {}
    return {"on_behalf_of": acting.on_behalf_of, "delegation": acting.delegation.id}


@implements("complete_task")
def complete_task(ctx: Context, tx: WriteTx, role: str, note: str | None, on_behalf_of: str | None) -> Event:
    task, acting = rules.may_complete_task(ctx, role, on_behalf_of)
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
            "on_behalf_of": acting.on_behalf_of,
        },
    )
    return record(ctx, tx, "task.done", {"task": task, "note": note, **_behalf(acting)}, authority=role)


@implements("approve")
def approve(ctx: Context, tx: WriteTx, role: str, comment: str | None,
            deliverables: dict[str, str] | None, on_behalf_of: str | None) -> Event:
    gate, acting = rules.may_approve(ctx, role, on_behalf_of)
    present = ctx.state.deliverables
    if deliverables is not None and files.seen_differs(ctx.phase, present, deliverables):
        raise DeliverablesChanged(
            f"the deliverables of {ctx.phase.title} on {ctx.code} are not the ones this approval was given "
            f"on (a new version came in since they were read); look at the current ones and approve again",
            files.current_digests(present))
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
            "on_behalf_of": acting.on_behalf_of,
        },
    )
    data: dict[str, Any] = {
        "gate": gate.title,
        "decision": "approved",
        "comment": comment,
        "meaning": meaning(gate.title, ctx.phase.title, ctx.state.round),
        **_behalf(acting),
    }
    if ctx.phase.deliverables:  # what was signed: each deliverable's version and sha256, in the hashed event
        data["deliverables"] = files.binding(ctx.phase, present)
    return record(ctx, tx, "approve", data, authority=role)


@implements("withdraw")
def withdraw(ctx: Context, tx: WriteTx, role: str, reason: str | None) -> Event:
    """The signer takes back their approval of the current round's gate (the gate not yet passed)."""
    gate, signed = rules.may_withdraw(ctx, role)
    state = ctx.state
    tx.write(
        sql.DELETE_APPROVAL,
        {"project_id": state.id, "phase": state.phase, "round": state.round, "role": role},
    )
    data = {
        "gate": gate.title,
        "decision": "withdrawn",
        "reason": reason,
        "meaning": meaning(gate.title, ctx.phase.title, state.round),
        "voided": {"approvals": [{"role": role, "person": signed.person, "seq": signed.seq}]},
    }
    return record(ctx, tx, "withdraw", data, authority=role)


@implements("reopen_task")
def reopen_task(ctx: Context, tx: WriteTx, role: str, reason: str) -> Event:
    """A holder of ``role`` (or the lead) marks the role's task of the current round not done again."""
    authority, task, done = rules.may_reopen_task(ctx, role)
    state = ctx.state
    tx.write(
        sql.DELETE_TASK,
        {"project_id": state.id, "phase": state.phase, "round": state.round, "role": role},
    )
    data = {
        "task": task,
        "reason": reason,
        "voided": {"tasks": [{"role": role, "person": done.person, "seq": done.seq}]},
    }
    return record(ctx, tx, "task.reopen", data, authority=authority)


@implements("reject")
def reject(ctx: Context, tx: WriteTx, role: str, reason: str) -> Event:
    gate, dest = rules.may_reject(ctx, role)
    state = ctx.state
    phase, status = settle(dest, state.phase)
    new_round, rounds = state.entered(phase)
    data = {
        "gate": gate.title,
        "decision": "rejected",
        "reason": reason,
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


@implements("advance")
def advance(ctx: Context, tx: WriteTx) -> Event:
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


def lead_move(ctx: Context, tx: WriteTx, trigger: str, data: dict[str, Any]) -> Event:
    """hold, resume or cancel: the lead fires ``trigger``; the machine says where the project lands."""
    lead, dest = rules.may_lead_move(ctx, trigger)
    state = ctx.state
    _phase, status = settle(dest, state.phase)
    moved: dict[str, Any] = {"status": status}
    if status == ON_HOLD:  # the project points at the event that says why it waits
        moved["hold_seq"] = state.seq + 1
    return record(ctx, tx, trigger, {**data, "status": status}, authority=lead, moved=moved)


@implements("hold")
def hold(ctx: Context, tx: WriteTx, reason: str) -> Event:
    """Put the project on hold (the lead); the reason is recorded and shown while it waits."""
    return lead_move(ctx, tx, "hold", {"reason": reason})


@implements("resume")
def resume(ctx: Context, tx: WriteTx) -> Event:
    """Resume a held project in the phase it was held in (the lead)."""
    return lead_move(ctx, tx, "resume", {})


@implements("cancel")
def cancel(ctx: Context, tx: WriteTx, reason: str) -> Event:
    """Cancel the project for good (the lead)."""
    return lead_move(ctx, tx, "cancel", {"reason": reason})


def _current_round(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """The tasks and approvals of the round being left (an advance counts them, a rejection voids them)."""
    return {
        "tasks": [{"role": r, "person": t.person, "seq": t.seq} for r, t in ctx.state.tasks.items()],
        "approvals": [{"role": r, "person": a.person, "seq": a.seq} for r, a in ctx.state.approvals.items()],
    }
