"""The insights' summary rows kept in each event's transaction: each :class:`Change` that
``domain/insights/changes.py`` finds for the event becomes one statement, written with the event
(``tx.write``: at once on SQLite, with the COMMIT on PostgreSQL, where the statements of one event
touch different rows, as ``statements.combined`` needs). No read: working days are subtractions of
the ordinals the rows hold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from workflow.domain.audit.replay import Recorded
from workflow.domain.insights.changes import Change, changes, created
from workflow.domain.insights.history import TRACKED
from workflow.domain.state import ProjectState
from workflow.storage.statements import Statement

if TYPE_CHECKING:
    from workflow.storage.transaction import WriteTx

_HELD = "held_days + CASE WHEN held_since_ord IS NULL THEN 0 ELSE :ord - held_since_ord END"
_VISIT = "project_id = :project_id AND phase = :phase AND round = :round"

STATEMENTS: Mapping[str, Statement] = {
    "new_project": Statement(
        "insights.new_project",
        (
            "INSERT INTO insight_projects (project_id, template_id, client, calendar, created_at, "
            "created_ord, status, held_days) VALUES (:project_id, :template_id, :client, :calendar, :at, "
            ":ord, 'running', 0)"
        ),
    ),
    "open_visit": Statement(
        "insights.open_visit",
        (
            "INSERT INTO insight_visits (project_id, phase, round, template_id, client, calendar, "
            "entered_at, entered_ord, outcome, held_days) VALUES (:project_id, :phase, :round, "
            ":template_id, :client, :calendar, :at, :ord, 'running', 0)"
        ),
    ),
    "close_visit": Statement(
        "insights.close_visit",
        (
            f"UPDATE insight_visits SET left_at = :at, outcome = :outcome, held_days = {_HELD}, "
            f"held_since_ord = NULL, days = :ord - entered_ord - ({_HELD}), due_on = :due_on, late = :late, "
            "gate_days = CAST(:last_ord AS INTEGER) - COALESCE(CAST(:opened_ord AS INTEGER), entered_ord), "
            f"reason = :reason WHERE {_VISIT}"
        ),
    ),
    "close_project": Statement(
        "insights.close_project",
        (
            f"UPDATE insight_projects SET status = :status, ended_at = :at, held_days = {_HELD}, "
            f"held_since_ord = NULL, days = :ord - created_ord - ({_HELD}) WHERE project_id = :project_id"
        ),
    ),
    "hold_visit": Statement(
        "insights.hold_visit", (f"UPDATE insight_visits SET held_since_ord = :ord WHERE {_VISIT}")
    ),
    "hold_project": Statement(
        "insights.hold_project",
        ("UPDATE insight_projects SET held_since_ord = :ord WHERE project_id = :project_id"),
    ),
    "resume_visit": Statement(
        "insights.resume_visit",
        (
            f"UPDATE insight_visits SET held_days = {_HELD}, held_since_ord = NULL "
            f"WHERE {_VISIT} AND held_since_ord IS NOT NULL"
        ),
    ),
    "resume_project": Statement(
        "insights.resume_project",
        (
            f"UPDATE insight_projects SET held_days = {_HELD}, held_since_ord = NULL "
            "WHERE project_id = :project_id AND held_since_ord IS NOT NULL"
        ),
    ),
    "sign": Statement(
        "insights.sign",
        (
            "INSERT INTO insight_signatures (project_id, phase, round, role, person, template_id, client, "
            "signed_at, days) SELECT project_id, phase, round, :role, :person, template_id, client, :at, "
            "CAST(:ord AS INTEGER) - COALESCE(CAST(:opened_ord AS INTEGER), entered_ord) "
            f"FROM insight_visits WHERE {_VISIT}"
        ),
    ),
    "unsign": Statement(
        "insights.unsign", (f"DELETE FROM insight_signatures WHERE {_VISIT} AND role = :role")
    ),
}


def write(tx: WriteTx, found: Iterable[Change]) -> None:
    for change in found:
        if change.kind in ("hold", "resume"):
            tx.write(STATEMENTS[f"{change.kind}_visit"], change.values)
            tx.write(STATEMENTS[f"{change.kind}_project"], change.values)
        else:
            tx.write(STATEMENTS[change.kind], change.values)


def track(tx: WriteTx, state: ProjectState, event: Recorded, moved: Mapping[str, Any]) -> None:
    """The summary rows moved with ``event`` of the project ``state`` (as it stood before)."""
    if event.action in TRACKED:
        definition = tx.template(state.template_id).definition
        write(tx, changes(state, definition, event, moved))


def track_created(
    tx: WriteTx,
    project_id: int,
    template_id: int,
    client: str | None,
    calendar: str | None,
    phase: str,
    at: str,
) -> None:
    write(tx, created(project_id, template_id, client, calendar, phase, at))
