"""The invitations of outside signers (issue 24), on the schema's one ``MetaData`` (``storage/tables.py``
imports this module, so ``alembic check`` and every reader see them)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from workflow.storage.tables import HASH, KEY, PERSON, TIME, metadata

# Invitations of outside signers to an external role (issue 24): the link's secret only as its sha256, its
# one-time code (also hashed) with its expiry and wrong tries; ``used_seq``: the decision that used it.
invitations = Table(
    "invitations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("role", KEY, nullable=False),
    Column("email", String(200), nullable=False),
    Column("name", String(200)),
    Column("secret_hash", HASH, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("created_by", PERSON, nullable=False),
    Column("expires_at", TIME, nullable=False),
    Column("seq", Integer, nullable=False),  # the invite event
    Column("revoked_at", TIME),
    Column("used_seq", Integer),
    Column("code_hash", HASH),
    Column("code_delivery", Integer),  # the outbox row that e-mails the code
    Column("code_expires_at", TIME),
    Column("code_tries", Integer, nullable=False),  # wrong entries of the current code
    UniqueConstraint("secret_hash", name="uq_invitations_secret_hash"),
    Index("ix_invitations_project_id", "project_id", "role"),
)
