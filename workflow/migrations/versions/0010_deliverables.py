"""Deliverables (issue 23): each version a phase's people add, and the bytes of files by sha256.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00

New tables only: a project from before this revision has no deliverables, and its stored
compiled definitions (0003) load as phases without any (``definition_from_dict``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.migrations.ops import HASH, KEY, PERSON, TIME, project_id

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.create_table(
        "deliverables",
        project_id("deliverables"),
        sa.Column("phase", KEY, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("sha256", HASH),
        sa.Column("size", sa.BigInteger()),
        sa.Column("name", sa.String(255)),
        sa.Column("media_type", sa.String(128)),
        sa.Column("note", sa.Text()),
        sa.Column("url", sa.String(2000)),
        sa.Column("label", sa.String(200)),
        sa.Column("person", PERSON, nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('file', 'link')", name="ck_deliverables_kind"),
        sa.PrimaryKeyConstraint("project_id", "phase", "key", "version", name="pk_deliverables"),
    )
    op.create_index("ix_deliverables_sha256", "deliverables", ["sha256"])
    op.create_table(
        "blobs",
        sa.Column("sha256", HASH, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(8), nullable=False),
        sa.Column("stored_at", TIME, nullable=False),
        sa.CheckConstraint("place IN ('db', 'dir')", name="ck_blobs_place"),
        sa.PrimaryKeyConstraint("sha256", name="pk_blobs"),
    )
    op.create_table(
        "blob_chunks",
        sa.Column("sha256", HASH, sa.ForeignKey("blobs.sha256", name="fk_blob_chunks_sha256_blobs"),
                  nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "n", name="pk_blob_chunks"),
    )


def downgrade() -> None:
    op.drop_table("blob_chunks")
    op.drop_table("blobs")
    op.drop_index("ix_deliverables_sha256", table_name="deliverables")
    op.drop_table("deliverables")
