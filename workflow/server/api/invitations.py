"""A project's invitations of outside signers (issue 24), read: ``GET /projects/{code}/invitations``.
Inviting and revoking are project commands (``POST``/``DELETE …/invitations``, built from the table in
:mod:`workflow.server.api.projects`); a link's own endpoints are the signing page's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from workflow.domain.links.view import Invitation
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["projects"])


class Invitations(BaseModel):
    project: str
    invitations: list[Invitation]


@router.get("/projects/{code}/invitations", response_model=Invitations)
def list_invitations(code: str, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """The project's invitations, oldest first: id, role, address, name, state (live, used, expired,
    revoked), expiry; never a link's secret (admins, auditors and the project's team)."""
    return {"project": code, "invitations": engine.invitations(code, reader=who)}
