"""Store each template version's compiled definition as JSON beside its text.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:40:00

Reading a project used to parse the version's YAML in every new process (the loader
and PyYAML cost ~50 ms of a CLI call). The column is derived from ``source``; rows
published before this revision are filled here, and the engine still falls back to
parsing ``source`` when it is empty.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    from workflow.domain.templates.definition import definition_to_dict
    from workflow.domain.templates.loader import load_definition
    from workflow.errors import DefinitionError

    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("compiled", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, key, version, source FROM templates")).all()
    for row in rows:
        try:
            definition = load_definition(row.source, source=f"{row.key} v{row.version}")
        except DefinitionError:
            continue  # leave it empty: the engine parses the text and reports the problem then
        compiled = json.dumps(definition_to_dict(definition), sort_keys=True, separators=(",", ":"))
        bind.execute(
            sa.text("UPDATE templates SET compiled = :c WHERE id = :i"), {"c": compiled, "i": row.id}
        )


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("compiled")
