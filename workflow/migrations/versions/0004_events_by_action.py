"""Index events by chain and action, for a project's latest hold or rejection and history filters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:30:00

``project status`` shows why a project is on hold and its last rejection; without this
index, finding the latest event of one action walks the whole chain backwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_chain_action", "events", ["chain", "action", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_chain_action", table_name="events")
