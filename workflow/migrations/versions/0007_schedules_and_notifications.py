"""Schedules and notifications: a project's calendar and due dates, the timers ``tick`` gave,
the transactional outbox, webhooks, and each person's notification settings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00

Every new project column is nullable: a project from before this revision has no calendar
(Monday to Friday), no due date and nothing for ``tick`` to do until its next command.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.migrations.ops import KEY, PERSON, TIME, project_id

revision: str = "0007"
down_revision: str | None = "0006"

PROJECT_COLUMNS = (
    ("calendar", sa.String(32)),
    ("starts_on", sa.String(10)),
    ("due_on", sa.String(10)),
    ("gate_opened_at", TIME),
    ("planned_due", sa.Text()),
    ("next_tick_at", TIME),
)


def upgrade() -> None:
    for name, kind in PROJECT_COLUMNS:  # ADD COLUMN, on SQLite too: no table rebuild
        op.add_column("projects", sa.Column(name, kind))
    op.create_index("ix_projects_next_tick_at", "projects", ["next_tick_at"],
                    sqlite_where=sa.text("next_tick_at IS NOT NULL"),
                    postgresql_where=sa.text("next_tick_at IS NOT NULL"))
    op.create_table(
        "timers",
        project_id("timers", primary_key=True),
        sa.Column("phase", KEY, primary_key=True),
        sa.Column("round", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("person", PERSON, primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "phase", "round", "kind", "person", name="pk_timers"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chain", KEY, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("people", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("lease_until", TIME),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("delivered_at", TIME),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="ck_outbox_status"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("kinds", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", PERSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )
    op.create_table(
        "notify_settings",
        sa.Column("person", PERSON, nullable=False),
        sa.Column("email_kinds", sa.Text()),
        sa.Column("calendar_key_hash", sa.String(64)),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("person", name="pk_notify_settings"),
        sa.UniqueConstraint("calendar_key_hash", name="uq_notify_settings_calendar_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("notify_settings")
    op.drop_table("webhooks")
    op.drop_index("ix_outbox_status", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("timers")
    op.drop_index("ix_projects_next_tick_at", table_name="projects")
    with op.batch_alter_table("projects") as batch:
        for name, _kind in reversed(PROJECT_COLUMNS):
            batch.drop_column(name)
