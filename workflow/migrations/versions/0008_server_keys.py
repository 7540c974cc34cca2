"""The server's own keys: the HMAC key that signs device cookies.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00

A device cookie (OWASP, "Slow Down Online Guessing Attacks with Device Cookies") is signed
with a key every worker and host of one database must share and that outlives a restart,
so it is kept in the database. The row is made on first use (the first successful sign-in).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_server_keys"),
    )


def downgrade() -> None:
    op.drop_table("server_keys")
