"""``/me``: who I am, what waits on me, my API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from workflow.domain import limits
from workflow.domain.results import TokenInfo
from workflow.engine.people import signin
from workflow.server.api.common import THROTTLED, EventOut, command, event_out
from workflow.server.auth import (
    SESSION_COOKIE,
    CurrentIdentity,
    EngineDep,
    client_address,
    refuse_cross_site,
    settings_of,
)

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
    last_used_at: str | None = None
    revoked_at: str | None = None
    token: str = Field(description="the secret, shown this once")


class SignIn(BaseModel):
    login: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class Session(BaseModel):
    person: str
    auth: str
    csrf: str = Field(description="send it as X-CSRF-Token with every unsafe request of this session")


@router.post("/me/session", response_model=Session, responses=THROTTLED)
def sign_in(body: SignIn, request: Request, response: Response, engine: EngineDep) -> dict[str, Any]:
    """Sign in with a password: a new server-side session (its id in an HttpOnly cookie).

    Every sign-in makes a new session id, whatever cookie came with the request, so a
    session id planted before signing in is worthless after (no session fixation).
    """
    command(request, "sign-in")
    refuse_cross_site(request)
    identity, device = engine.sign_in(body.login, body.password,
                                      address=client_address(request), devices_sent=request.cookies)
    session_id, csrf = engine.open_session(identity)
    set_session_cookie(response, session_id, secure=settings_of(request).secure_cookies)
    set_device_cookie(response, device, secure=settings_of(request).secure_cookies)
    request.state.identity = identity
    return {"person": identity.person, "auth": identity.auth, "csrf": csrf}


@router.delete("/me/session", status_code=204)
def sign_out(request: Request, response: Response, who: CurrentIdentity, engine: EngineDep) -> Response:
    """Sign out: the session ends on the server, and its cookie is cleared."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        engine.close_session(session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def set_session_cookie(response: Response, session_id: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=signin.SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def set_device_cookie(response: Response, device: tuple[str, str], *, secure: bool) -> None:
    """The browser's device cookie for the login that just signed in (``workflow.domain.devices``):
    HttpOnly, and SameSite=Strict, since only phasegate's own sign-in forms need it."""
    name, value = device
    response.set_cookie(
        name,
        value,
        max_age=int(limits.DEVICE_COOKIE_SECONDS.default),
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


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
    """A new API token for me; its secret is in this answer only (kept as a hash)."""
    command(request, "token.create")
    info, secret = engine.create_token(actor=who, name=body.name, expires_in=body.expires_in)
    return {**info.to_dict(), "token": secret}


@router.get("/me/tokens", response_model=list[TokenInfo])
def list_tokens(who: CurrentIdentity, engine: EngineDep) -> list[TokenInfo]:
    """My tokens: id, name, created, expires, last used, revoked (never the secret)."""
    return engine.tokens(reader=who)


@router.delete("/me/tokens/{token_id}", response_model=EventOut)
def revoke_token(token_id: str, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Revoke one of my tokens (admins: anyone's); it stops working at once."""
    command(request, "token.revoke")
    return event_out(engine.revoke_token(token_id, actor=who))
