"""What the migrations share: the column kinds they are written with and a project's foreign key.

History, like the migrations: a revision that has run must keep building the same schema, so nothing
here changes once a migration uses it (a new kind or size gets a new name). Never the live tables
(workflow/storage/tables.py): they change later.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

PERSON = sa.String(200)
KEY = sa.String(64)
TIME = sa.String(32)
HASH = sa.String(64)


def project_id(table: str, **flags: Any) -> sa.Column[int]:
    """``project_id``, the table's reference to ``projects.id`` by its conventional name (not null)."""
    return sa.Column(
        "project_id",
        sa.Integer(),
        sa.ForeignKey("projects.id", name=f"fk_{table}_project_id_projects"),
        **(flags or {"nullable": False}),
    )


def round_key(table: str) -> tuple[sa.Column[int], sa.Column[str], sa.Column[int]]:
    """``project_id``, ``phase``, ``round``: the columns of a row about one round of one phase (not null;
    the table's primary key constraint names them)."""
    return (
        project_id(table),
        sa.Column("phase", KEY, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
    )
