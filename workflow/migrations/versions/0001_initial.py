"""The initial schema: templates, grants, projects, assignments, tasks, approvals, events, requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 23:38:57

Constraint names are spelled out as workflow/storage/tables.py's naming convention
produces them, so later migrations can address them by name on every backend.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.migrations.ops import HASH, KEY, PERSON, TIME

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", HASH, nullable=False),
        sa.Column("published_at", TIME, nullable=False),
        sa.Column("published_by", PERSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_templates_key_version")),
    )
    op.create_table(
        "grants",
        sa.Column("person", PERSON, nullable=False),
        sa.Column("privilege", sa.String(length=16), nullable=False),
        sa.Column("granted_at", TIME, nullable=False),
        sa.Column("granted_by", PERSON, nullable=False),
        sa.CheckConstraint("privilege IN ('admin', 'auditor')", name=op.f("ck_grants_privilege")),
        sa.PrimaryKeyConstraint("person", "privilege", name=op.f("pk_grants")),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", KEY, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("client", sa.String(length=200), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("phase", KEY, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rounds", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", HASH, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'on_hold', 'cancelled', 'completed')", name=op.f("ck_projects_status")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name=op.f("fk_projects_template_id_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_projects_code")),
    )
    op.create_table(
        "assignments",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("role", KEY, nullable=False),
        sa.Column("person", PERSON, nullable=False),
        sa.Column("assigned_at", TIME, nullable=False),
        sa.Column("assigned_by", PERSON, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_assignments_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "role", "person", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_person"), "assignments", ["person", "project_id"], unique=False)
    _signed_round("tasks", "note", "done_at")
    _signed_round("approvals", "comment", "approved_at")
    op.create_table(
        "events",
        sa.Column("chain", KEY, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", PERSON, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("phase", KEY, nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", HASH, nullable=False),
        sa.Column("hash", HASH, nullable=False),
        sa.PrimaryKeyConstraint("chain", "seq", name=op.f("pk_events")),
        sa.UniqueConstraint("chain", "prev_hash", name=op.f("uq_events_chain_prev_hash")),
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("actor", PERSON, nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_requests")),
    )


def _signed_round(table: str, text: str, at: str) -> None:
    """``tasks`` and ``approvals``: one row per role of a round of a phase, who did or signed it, when."""
    op.create_table(
        table,
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("phase", KEY, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("role", KEY, nullable=False),
        sa.Column("person", PERSON, nullable=False),
        sa.Column(text, sa.Text(), nullable=True),
        sa.Column(at, TIME, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "phase", "round", "role", name=op.f(f"pk_{table}")),
    )


def downgrade() -> None:
    op.drop_table("requests")
    op.drop_table("events")
    op.drop_table("approvals")
    op.drop_table("tasks")
    op.drop_index(op.f("ix_assignments_person"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_table("projects")
    op.drop_table("grants")
    op.drop_table("templates")
