"""``/me``: who I am, what waits on me, my API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from workflow.domain.results import TokenInfo
from workflow.server.api.common import EventOut, command, event_out
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["me"])


class TokenIn(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    expires_in: str | None = Field(default=None, max_length=16, description="e.g. 90d, 12h, 2w")


class NewToken(BaseModel):
    id: str
    person: str
    name: str | None
    created_at: str
    expires_at: str | None
    token: str = Field(description="the secret, shown this once")


@router.get("/me")
def me(who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Who I am, how I signed in, my grants and my assignments."""
    return {
        "person": who.person,
        "auth": who.auth,
        "grants": sorted(engine.grants_of(who.person)),
        "projects": engine.memberships(who),
    }


@router.get("/me/work")
def my_work(who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """What waits on me: tasks to mark done, gates to sign, projects I lead that can advance."""
    return engine.work_of(who)


@router.post("/me/tokens", status_code=201, response_model=NewToken)
def create_token(body: TokenIn, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    command(request, "token.create")
    info, secret = engine.create_token(actor=who, name=body.name, expires_in=body.expires_in)
    return {**info.to_dict(), "token": secret}


@router.get("/me/tokens", response_model=list[TokenInfo])
def list_tokens(who: CurrentIdentity, engine: EngineDep) -> list[TokenInfo]:
    return engine.tokens(reader=who)


@router.delete("/me/tokens/{token_id}", response_model=EventOut)
def revoke_token(token_id: str, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    command(request, "token.revoke")
    return event_out(engine.revoke_token(token_id, actor=who))
