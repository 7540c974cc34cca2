"""Insights (issue 25): summary rows per round of a phase, per standing signature and per project,
kept in each event's transaction, and filled here from the history of the projects already there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:00:00

The backfill replays each project's events (``storage/insights/backfill.py``: the same changes
the write path makes, ``domain/insights/changes.py``), one project at a time, so its memory does
not grow with the number of projects.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.migrations.ops import KEY, PERSON, TIME, project_id, round_key

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    op.create_table(
        "insight_visits",
        *round_key("insight_visits"),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(200)),
        sa.Column("calendar", sa.String(32)),
        sa.Column("entered_at", TIME, nullable=False),
        sa.Column("entered_ord", sa.Integer(), nullable=False),
        sa.Column("left_at", TIME),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("held_days", sa.Integer(), nullable=False),
        sa.Column("held_since_ord", sa.Integer()),
        sa.Column("days", sa.Integer()),
        sa.Column("due_on", sa.String(10)),
        sa.Column("late", sa.Boolean()),
        sa.Column("gate_days", sa.Integer()),
        sa.Column("reason", sa.Text()),
        sa.CheckConstraint(
            "outcome IN ('running', 'passed', 'rejected', 'cancelled')", name="ck_insight_visits_outcome"
        ),
        sa.PrimaryKeyConstraint("project_id", "phase", "round", name="pk_insight_visits"),
    )
    op.create_table(
        "insight_signatures",
        *round_key("insight_signatures"),
        sa.Column("role", KEY, nullable=False),
        sa.Column("person", PERSON, nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(200)),
        sa.Column("signed_at", TIME, nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "phase", "round", "role", name="pk_insight_signatures"),
    )
    op.create_table(
        "insight_projects",
        project_id("insight_projects"),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(200)),
        sa.Column("calendar", sa.String(32)),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_ord", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ended_at", TIME),
        sa.Column("held_days", sa.Integer(), nullable=False),
        sa.Column("held_since_ord", sa.Integer()),
        sa.Column("days", sa.Integer()),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'cancelled')", name="ck_insight_projects_status"
        ),
        sa.PrimaryKeyConstraint("project_id", name="pk_insight_projects"),
    )
    from workflow.storage.insights.backfill import backfill

    backfill(op.get_bind())
    op.create_index("ix_projects_due_on", "projects", ["due_on"], sqlite_where=sa.text("due_on IS NOT NULL"),
                    postgresql_where=sa.text("due_on IS NOT NULL"))
    # After the backfill: its rows go in faster without them.
    op.create_index(
        "ix_insight_visits_figures",
        "insight_visits",
        ["template_id", "phase", "outcome", "late", "days", "gate_days", "held_days"],
    )
    op.create_index(
        "ix_insight_visits_outcome",
        "insight_visits",
        ["outcome", "template_id", "phase", "calendar", "entered_ord", "held_days", "held_since_ord"],
    )
    op.create_index(
        "ix_insight_signatures_figures", "insight_signatures", ["template_id", "role", "person", "days"]
    )
    op.create_index(
        "ix_insight_projects_figures",
        "insight_projects",
        [
            "status",
            "template_id",
            "calendar",
            "created_ord",
            "held_days",
            "held_since_ord",
            "ended_at",
            "days",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_projects_due_on", table_name="projects")
    for table, index in (
        ("insight_projects", "ix_insight_projects_figures"),
        ("insight_signatures", "ix_insight_signatures_figures"),
        ("insight_visits", "ix_insight_visits_outcome"),
        ("insight_visits", "ix_insight_visits_figures"),
    ):
        op.drop_index(index, table_name=table)
    op.drop_table("insight_projects")
    op.drop_table("insight_signatures")
    op.drop_table("insight_visits")
