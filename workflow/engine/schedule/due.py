"""A project's due dates: the lead sets or moves one, on the record."""

from __future__ import annotations

from typing import Any

from workflow.domain import inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.rules import Context
from workflow.domain.schedule import workdays
from workflow.domain.schedule.clock import planned
from workflow.engine.commands import implements
from workflow.engine.running import record
from workflow.errors import RuleRefused, UsageError
from workflow.storage.database import utcnow
from workflow.storage.transaction import WriteTx


def due_inputs(phase: str, day: str, reason: str) -> dict[str, Any]:
    """The date as a day within reach of today, and the reason, checked before the transaction."""
    due_on = workdays.given_day(day, workdays.parse_day(utcnow()), "the due date")
    return {"phase": phase, "due_on": due_on, "reason": inputs.text(reason, "the reason", required=True)}


@implements("set_due", inputs=due_inputs)
def set_due(ctx: Context, tx: WriteTx, phase: str, due_on: str, reason: str) -> Event:
    """Set or move the due date of ``phase`` (the current one, or one to come) to ``due_on`` (the lead).

    A phase to come keeps it for its first round; a rejection's new round gets its own.
    """
    lead = rules.may_set_due(ctx)
    target = ctx.definition.phase(phase)
    if target is None:
        raise UsageError(f"{ctx.code}'s template has no phase {inputs.shown(phase)} "
                         f"(phases: {', '.join(ctx.definition.phase_keys)})")
    here = ctx.definition.phase_position(ctx.state.phase)
    if ctx.definition.phase_position(target.key) < here:
        raise RuleRefused(f"{target.title} is behind {ctx.code} (it is in {ctx.phase.title}); "
                          "set the due date of the current phase or of one to come")
    current = target.key == ctx.state.phase
    previous = ctx.state.due_on if current else planned(ctx.state.clock).get(target.key)
    data = {"for_phase": target.key, "for_phase_title": target.title, "due_on": due_on,
            "previous": previous, "reason": reason}
    return record(ctx, tx, "due", data, authority=lead)
