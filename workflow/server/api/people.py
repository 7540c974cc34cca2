"""``/people``, ``/grants`` and ``/delegations``: accounts and the admin and auditor grants (admins), and
who acts for whom while someone is away."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from workflow.domain.commands import DATE_MAX
from workflow.domain.inputs import CODE_MAX, LINE_MAX, PERSON_MAX, TEXT_MAX
from workflow.domain.results import Person
from workflow.errors import UsageError
from workflow.server.api.common import EventOut, command, event_out, links
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["people"])


class PersonIn(BaseModel):
    login: str = Field(max_length=PERSON_MAX)
    name: str | None = Field(default=None, max_length=LINE_MAX)
    email: str | None = Field(default=None, max_length=320)


class PersonChange(BaseModel):
    active: bool | None = None
    password: str | None = Field(default=None, max_length=1024)
    current_password: str | None = Field(
        default=None, max_length=1024,
        description="your present password, when you change your own "
                    "(an admin setting someone else's gives none)",
    )


class GrantIn(BaseModel):
    person: str = Field(max_length=64)
    privilege: Literal["admin", "auditor"]


@router.get("/people", response_model=list[Person])
def people(who: CurrentIdentity, engine: EngineDep) -> list[Person]:
    """Every account, enabled or not."""
    return engine.users(reader=who)


@router.post(
    "/people",
    status_code=201,
    response_model=EventOut,
    responses=links(201, change=("patch", "/people/{person}", {"person": "$response.body#/data/person"})),
)
def add_person(body: PersonIn, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """An account for a new person (admins); no password yet: set one with ``PATCH /people/{person}``."""
    command(request, "user.add")
    return event_out(engine.add_user(body.login, actor=who, name=body.name, email=body.email))


@router.patch("/people/{person}", response_model=list[EventOut])
def change_person(
    person: str, body: PersonChange, request: Request, who: CurrentIdentity, engine: EngineDep
) -> list[dict[str, Any]]:
    """Enable or disable the account, or set its password (a person may set their own, giving
    ``current_password``); all of it or nothing: a refused part leaves every part undone."""
    if body.active is None and body.password is None:
        raise UsageError("give active, or password, or both")
    command(request, "user.change")
    events = engine.change_account(person, actor=who, active=body.active, password=body.password,
                                   current=body.current_password)
    return [event_out(e) for e in events]


@router.post(
    "/grants",
    status_code=201,
    response_model=EventOut,
    responses=links(
        201,
        revoke=(
            "delete",
            "/grants/{person}/{privilege}",
            {"person": "$request.body#/person", "privilege": "$request.body#/privilege"},
        ),
    ),
)
def grant(body: GrantIn, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Give a person the admin or auditor grant (admins)."""
    command(request, "grant")
    return event_out(engine.grant(body.person, body.privilege, actor=who))


@router.get("/grants")
def grants(who: CurrentIdentity, engine: EngineDep) -> dict[str, list[str]]:
    """privilege -> the people holding it (admins and auditors)."""
    return engine.grants(reader=who)


@router.delete("/grants/{person}/{privilege}", response_model=EventOut)
def revoke(
    person: str,
    privilege: Literal["admin", "auditor"],
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
) -> dict[str, Any]:
    """Take the admin or auditor grant from a person (admins)."""
    command(request, "revoke")
    return event_out(engine.revoke(person, privilege, actor=who))


# -- delegations (issue 26; engine/delegations.py) ------------------------------------------------------


class DelegationIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    person: str = Field(max_length=PERSON_MAX, description="who is away")
    to: str = Field(max_length=PERSON_MAX, description="who acts on their behalf")
    starts_on: str = Field(alias="from", max_length=DATE_MAX, description="the first day (YYYY-MM-DD, UTC)")
    until: str = Field(max_length=DATE_MAX, description="the last day (YYYY-MM-DD, UTC)")
    roles: list[str] | None = Field(default=None, max_length=64, description="absent: every role")
    project: str | None = Field(default=None, max_length=CODE_MAX, description="absent: every project")
    reason: str | None = Field(default=None, max_length=TEXT_MAX)


@router.post("/delegations", status_code=201)
def delegate(body: DelegationIn, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Let ``to`` act for ``person`` from ``from`` to ``until`` (the person, or an admin)."""
    command(request, "delegate")
    made = engine.delegate(body.person, body.to, body.starts_on, body.until, actor=who, roles=body.roles,
                           project=body.project, reason=body.reason)
    return made.to_dict()


@router.get("/delegations")
def delegations(who: CurrentIdentity, engine: EngineDep, person: str | None = None,
                current: bool = False) -> list[dict[str, Any]]:
    """Your delegations, given and received (admins and auditors: ``person``'s, or ``*`` for all)."""
    return [d.to_dict() for d in engine.delegations(reader=who, person=person, current=current)]


@router.delete("/delegations/{ident}", response_model=EventOut)
def end_delegation(ident: str, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """End a delegation early (the person who delegated, the delegate, or an admin)."""
    command(request, "delegate.end")
    return event_out(engine.end_delegation(ident, actor=who))
