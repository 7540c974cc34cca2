"""The insights' summary tables (issue 25), on the schema's one ``MetaData`` (``storage/tables.py``
imports this module, so ``alembic check`` and every reader see them)."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

from workflow.storage.tables import KEY, PERSON, TIME, metadata, round_key

# Insights (issue 25), kept in each event's transaction (storage/insights/track.py): one row per round
# of a phase, per standing signature, per project. ``*_ord``: working-day ordinals on the project's
# calendar (workdays.ordinal), so working days are differences; ``days`` excludes ``held_days``.
insight_visits = Table(
    "insight_visits",
    metadata,
    *round_key(),
    Column("template_id", Integer, nullable=False),
    Column("client", String(200)),
    Column("calendar", String(32)),
    Column("entered_at", TIME, nullable=False),
    Column("entered_ord", Integer, nullable=False),
    Column("left_at", TIME),
    Column("outcome", String(16), nullable=False),  # running | passed | rejected | cancelled
    Column("held_days", Integer, nullable=False),  # of ended holds; on hold now: since held_since_ord
    Column("held_since_ord", Integer),
    Column("days", Integer),  # None while running
    Column("due_on", String(10)),
    Column("late", Boolean),  # None: no due date, or running
    Column("gate_days", Integer),  # from the gate's opening to its last signature
    Column("reason", Text),  # a rejected round's reason
    CheckConstraint("outcome IN ('running', 'passed', 'rejected', 'cancelled')", name="outcome"),
    # Covering indexes: the sums read them in order, without the table and without sorting.
    Index(
        "ix_insight_visits_figures",
        "template_id",
        "phase",
        "outcome",
        "late",
        "days",
        "gate_days",
        "held_days",
    ),
    Index(
        "ix_insight_visits_outcome",
        "outcome",
        "template_id",
        "phase",
        "calendar",
        "entered_ord",
        "held_days",
        "held_since_ord",
    ),
)
insight_signatures = Table(
    "insight_signatures",
    metadata,
    *round_key(),
    Column("role", KEY, primary_key=True),
    Column("person", PERSON, nullable=False),
    Column("template_id", Integer, nullable=False),
    Column("client", String(200)),
    Column("signed_at", TIME, nullable=False),
    Column("days", Integer, nullable=False),  # from the gate's opening
    Index("ix_insight_signatures_figures", "template_id", "role", "person", "days"),
)
insight_projects = Table(
    "insight_projects",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
    Column("template_id", Integer, nullable=False),
    Column("client", String(200)),
    Column("calendar", String(32)),
    Column("created_at", TIME, nullable=False),
    Column("created_ord", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # running | completed | cancelled
    Column("ended_at", TIME),
    Column("held_days", Integer, nullable=False),
    Column("held_since_ord", Integer),
    Column("days", Integer),
    CheckConstraint("status IN ('running', 'completed', 'cancelled')", name="status"),
    Index(
        "ix_insight_projects_figures",
        "status",
        "template_id",
        "calendar",
        "created_ord",
        "held_days",
        "held_since_ord",
        "ended_at",
        "days",
    ),
)
