"""The audit table is append-only in the database too: triggers refuse UPDATE, DELETE (and TRUNCATE).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 23:50:00

The hash chains already make an edit *visible*; these triggers make it *refused*
for everyone who goes through the database with ordinary statements, including
a person with a SQL client and write access to the table. Someone who may drop
triggers can still edit rows; ``audit verify`` (and a checkpoint) is what catches
them then. SQLite has no TRUNCATE (its ``DELETE FROM events`` is caught by the
DELETE trigger); PostgreSQL gets a statement trigger for TRUNCATE as well.

The error text is the same on both backends: ``events are append-only``.
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"

MESSAGE = "events are append-only"

SQLITE_TRIGGERS = {
    "events_no_update": "BEFORE UPDATE ON events",
    "events_no_delete": "BEFORE DELETE ON events",
}

PG_FUNCTION = "phasegate_events_append_only"
PG_TRIGGERS = {
    "events_no_update": "BEFORE UPDATE ON events FOR EACH ROW",
    "events_no_delete": "BEFORE DELETE ON events FOR EACH ROW",
    "events_no_truncate": "BEFORE TRUNCATE ON events FOR EACH STATEMENT",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Unqualified names resolve through search_path, so the function lives next to the table.
        op.execute(
            f"CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n"
            f"  RAISE EXCEPTION '{MESSAGE}';\n"
            f"END\n"
            f"$$"
        )
        for name, when in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {PG_FUNCTION}()")
    else:
        for name, when in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON events")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
