"""Each project points at its latest hold and rejection, so its status can say why it waits.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:30:00

``project status`` shows why a project is on hold and its last rejection. The project
row keeps the sequence numbers of those two events (set by the hold or reject that
writes them, read back by primary key): cheaper than an index over every event, which
each command would pay for. Rows written before this revision are filled here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("hold_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rejection_seq", sa.Integer(), nullable=True))
    for column, action in (("hold_seq", "hold"), ("rejection_seq", "reject")):
        op.execute(
            f"UPDATE projects SET {column} = (SELECT max(e.seq) FROM events e "
            f"WHERE e.chain = projects.code AND e.action = '{action}')"
        )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("rejection_seq")
        batch.drop_column("hold_seq")
