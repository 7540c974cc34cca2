"""Invitations (issue 24): outside signers invited by e-mail to an external role, and the outbox's payload.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:00:00

A new table, and one nullable column on ``outbox``: the secret an e-mail carries (an invitation's link,
a link's one-time code) until it is delivered or dead, then cleared. Rows from before have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.migrations.ops import HASH, KEY, PERSON, TIME, project_id

revision: str = "0011"
down_revision: str | None = "0010"


def upgrade() -> None:
    op.add_column("outbox", sa.Column("payload", sa.String(200)))
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(32), nullable=False),
        project_id("invitations"),
        sa.Column("role", KEY, nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("secret_hash", HASH, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", PERSON, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("revoked_at", TIME),
        sa.Column("used_seq", sa.Integer()),
        sa.Column("code_hash", HASH),
        sa.Column("code_delivery", sa.Integer()),
        sa.Column("code_expires_at", TIME),
        sa.Column("code_tries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("secret_hash", name="uq_invitations_secret_hash"),
    )
    op.create_index("ix_invitations_project_id", "invitations", ["project_id", "role"])


def downgrade() -> None:
    op.drop_index("ix_invitations_project_id", table_name="invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("payload")
