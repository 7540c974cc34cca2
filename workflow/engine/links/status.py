"""The outside signers as ``status`` names them (issue 24): "waiting for the Client's approval:
buyer@acme.example, invited 2026-12-07, code not yet used" instead of the signer's name in the record."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from workflow.domain.identity import external_person
from workflow.storage.links import invitations as rows

if TYPE_CHECKING:
    from workflow.domain.results import ProjectStatus
    from workflow.domain.state import ProjectState
    from workflow.domain.templates.definition import Definition
    from workflow.storage.transaction import ReadTx


def named(tx: ReadTx, state: ProjectState, definition: Definition, status: ProjectStatus,
          now: str) -> ProjectStatus:
    """``status`` with each outside signer in its blockers named by address, invitation and link."""
    if not any(r.external for r in definition.roles) or state.id is None:
        return status
    said: dict[str, str] = {}
    for row in rows.of_project(tx, state.id):  # oldest first: the newest invitation of an address wins
        if row.revoked_at is not None:
            continue
        if row.used_seq is not None:
            how = f"link used (event {row.used_seq})"
        elif row.expires_at <= now:
            how = f"link expired {row.expires_at[:10]}: invite again"
        elif row.code_hash is not None and (row.code_expires_at or "") > now:
            how = "code sent, not yet used"
        else:
            how = "code not yet used"
        said[external_person(row.email)] = f"{row.email}, invited {row.created_at[:10]}, {how}"
    if not said:
        return status
    blockers = []
    for line in status.blockers:
        for person, words in said.items():
            line = line.replace(person, words)
        blockers.append(line)
    return dataclasses.replace(status, blockers=blockers)
