"""Delegations (issue 26): someone away hands their roles to another for a while, on the record.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:00:00

A new table ``delegations`` (each made by a ``delegate`` event on the system chain, ended early by
``delegate.end``), and ``on_behalf_of`` on ``tasks`` and ``approvals``: whom the person who did the
task or signed acted for (null: themselves, as every row before this revision).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.migrations.ops import PERSON, TIME

revision: str = "0012"
down_revision: str | None = "0011"


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("person", PERSON, nullable=False),
        sa.Column("delegate", PERSON, nullable=False),
        sa.Column("starts_on", sa.String(10), nullable=False),
        sa.Column("until", sa.String(10), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("project", sa.String(64)),
        sa.Column("reason", sa.Text()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", PERSON, nullable=False),
        sa.Column("ended_at", TIME),
        sa.Column("ended_by", PERSON),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delegations"),
    )
    op.create_index("ix_delegations_delegate", "delegations", ["delegate", "until"])
    op.create_index("ix_delegations_person", "delegations", ["person", "until"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("on_behalf_of", PERSON))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("on_behalf_of", PERSON))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("on_behalf_of")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("on_behalf_of")
    op.drop_index("ix_delegations_person", table_name="delegations")
    op.drop_index("ix_delegations_delegate", table_name="delegations")
    op.drop_table("delegations")
