"""A project's summary rows from its history alone: its events replayed (``domain/audit/replay``)
and, at each, the changes the write path makes (:func:`~workflow.domain.insights.changes.changes`).

The migration fills the rows of the projects already there with it, and ``audit verify`` compares
it with the rows the engine kept (``storage/insights/backfill.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from workflow.domain.audit.replay import Recorded, Replay
from workflow.domain.insights.changes import Facts, changes, created
from workflow.domain.templates.definition import Definition

# The actions that change the summary rows besides ``create`` (the write path's list).
TRACKED = frozenset(
    {
        "advance",
        "reject",
        "cancel",
        "hold",
        "resume",
        "approve",
        "withdraw",
        "unassign",
        "task.reopen",
        "deliverable.add",
    }
)


def facts_of(
    code: str, project_id: int | None, template_id: int, events: Iterable[Recorded], definition: Definition
) -> Facts:
    """The summary rows of project ``code`` (row ``project_id``) after ``events``, oldest first."""
    replayed = Replay(code)
    facts = Facts()
    for e in events:
        before = replayed.state(template_id)._replace(id=project_id) if e.action in TRACKED else None
        replayed.apply(e)
        if e.action == "create":
            facts.apply_all(
                created(project_id, template_id, replayed.client, replayed.calendar, replayed.phase, e.at)
            )
        elif before is not None:
            moved = {"phase": replayed.phase, "round": replayed.round, "status": replayed.status}
            facts.apply_all(changes(before, definition, e, moved))
    return facts
