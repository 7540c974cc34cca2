"""A receiver's answer is never kept: wipe what earlier versions put in ``outbox.last_error``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 12:00:00

Before this revision a failed webhook kept ``HTTP <status>: <the first 200 characters of the
answer>``, and a malformed answer's bytes came along in the HTTP library's message: text an
internal service wrote (a database's banner, a metadata service's keys) shown to admins and
auditors (issue 19, server-side request forgery). Such rows keep their status code and
phasegate's sentence only, as new failures are written (workflow/delivery/webhooks.py). Data
only: the schema does not change, and there is nothing to put back on downgrade.
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    # "HTTP 500: <answer>" and "HTTP 404" -> "the receiver answered HTTP 500" (substr and || are the same
    # on SQLite and PostgreSQL).
    op.execute("UPDATE outbox SET last_error = 'the receiver answered ' || substr(last_error, 1, 8) "
               "WHERE last_error LIKE 'HTTP ___%'")
    for name in ("RemoteProtocolError", "LocalProtocolError", "ProtocolError"):
        op.execute(f"UPDATE outbox SET last_error = '{name}: the receiver''s answer was not valid HTTP/1.1' "
                   f"WHERE last_error LIKE '{name}%'")


def downgrade() -> None:
    """Nothing to undo: the wiped text is gone on purpose."""
