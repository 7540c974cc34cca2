"""People and how they prove who they are: accounts, API tokens, web sessions, sign-in failures.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:00:00

A password is stored only as an argon2id hash, a token or a session only as the sha256
of its random secret. ``tasks.auth`` and ``approvals.auth`` keep how the signer was
authenticated (as their events record it) so a status shows it; rows from before this
revision read as ``asserted``, as their events do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.migrations.ops import PERSON, TIME

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("login", PERSON, primary_key=True),
        sa.Column("display_name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "person", PERSON, sa.ForeignKey("people.login", name="fk_tokens_person_people"), nullable=False
        ),
        sa.Column("name", sa.String(200)),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME),
        sa.Column("last_used_at", TIME),
        sa.Column("revoked_at", TIME),
        sa.UniqueConstraint("secret_hash", name="uq_tokens_secret_hash"),
    )
    op.create_index("ix_tokens_person", "tokens", ["person"])
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "person", PERSON, sa.ForeignKey("people.login", name="fk_sessions_person_people"), nullable=False
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("auth", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME),
    )
    op.create_index("ix_sessions_person", "sessions", ["person"])
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", TIME, nullable=False),
        sa.Column("last_at", TIME, nullable=False),
    )
    for table in ("tasks", "approvals"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("auth", sa.String(16)))


def downgrade() -> None:
    for table in ("approvals", "tasks"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("auth")
    op.drop_table("sign_in_failures")
    op.drop_index("ix_sessions_person", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_tokens_person", table_name="tokens")
    op.drop_table("tokens")
    op.drop_table("people")
