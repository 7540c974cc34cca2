"""The clock and the calendar feed: ``POST /tick``, ``/me/calendar.ics`` (a due date is set by a project
command, ``PUT /projects/{code}/due/{phase}``: workflow/domain/commands.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from workflow.engine import Engine
from workflow.errors import NotPermitted, Unauthenticated
from workflow.server.api.common import (
    command,
)
from workflow.server.auth import CurrentIdentity, EngineDep, identify

router = APIRouter(tags=["schedule"])
ICS = "text/calendar; charset=utf-8"


class CalendarKey(BaseModel):
    url: str = Field(description="the feed's address with its secret, shown this once")


@router.post("/tick")
def tick(request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Run the clock now (admins; the server also runs it every --tick-every seconds)."""
    command(request, "tick")
    _require_admin(engine, who.person, "run the clock")
    return engine.tick().to_dict()


@router.get("/tick")
def try_tick(who: CurrentIdentity, engine: EngineDep,
             now: str = Query(max_length=64, description="ISO 8601: the moment to try")) -> dict[str, Any]:
    """A try-out (admins): what a tick at ``now`` would give (``would``); nothing is written or sent."""
    _require_admin(engine, who.person, "try the clock out")
    return engine.tick(now=now).to_dict()


def _require_admin(engine: Engine, person: str, what: str) -> None:
    if "admin" not in engine.grants_of(person):
        raise NotPermitted(f"only admins may {what} ({person} is not an admin)")


@router.post("/me/calendar-key", response_model=CalendarKey, status_code=201)
def calendar_key(request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """A new secret address for my calendar feed (the old one stops working)."""
    command(request, "calendar.key")
    secret = engine.new_calendar_key(actor=who)
    return {"url": str(request.url_for("my_calendar").include_query_params(key=secret))}


@router.get("/me/calendar.ics", name="my_calendar", response_class=Response,
            responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}}}})
def my_calendar(request: Request, engine: EngineDep,
                key: str | None = Query(default=None, max_length=200),
                person: str | None = Query(default=None, max_length=200)) -> Response:
    """My due dates as iCalendar: with the feed's secret ``key`` (calendar programs cannot sign
    in), or signed in (an admin may name another ``person``)."""
    base = str(request.base_url).rstrip("/")
    if key:
        owner = engine.calendar_owner(key)
        if owner is None:
            raise Unauthenticated("this calendar feed's key is not valid (any more): make a new one")
        return Response(engine.calendar(owner, reader=owner, base_url=base), media_type=ICS)
    identity = identify(request)
    if identity is None:
        raise Unauthenticated("give the calendar feed's key (POST /me/calendar-key), or sign in")
    text = engine.calendar(person or identity.person, reader=identity, base_url=base)
    return Response(text, media_type=ICS)
