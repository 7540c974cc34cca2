"""SQLite: an INSERT that would replace an event is refused, as UPDATE and DELETE already are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:10:00

SQLite's conflict clauses (``INSERT OR REPLACE``, ``REPLACE INTO``) resolve a unique
violation by deleting the existing row first, and that delete fires no DELETE trigger
(unless ``recursive_triggers`` is on): a whole chain could be rewritten past the
triggers of revision 0002. This BEFORE INSERT trigger refuses any event whose chain
already holds its sequence number or its predecessor, before the conflict is resolved.
An upsert (``ON CONFLICT ... DO UPDATE``) fires the UPDATE trigger on both backends;
PostgreSQL has no REPLACE.
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"

# Begins as every append-only refusal does; the rest tells a lost race on a chain head (which
# storage/database.py's is_retryable retries) from an UPDATE or DELETE.
MESSAGE = "events are append-only: the chain already holds this event or its predecessor"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER events_no_replace BEFORE INSERT ON events "
            "WHEN EXISTS (SELECT 1 FROM events WHERE chain = NEW.chain AND seq = NEW.seq) "
            "OR EXISTS (SELECT 1 FROM events WHERE chain = NEW.chain AND prev_hash = NEW.prev_hash) "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_replace")
