"""``/projects``: the board, a project's status (with its ETag), its team, work, moves, history, report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, Field

from workflow.domain.inputs import COUNT_MAX
from workflow.domain.paging import page_and_next
from workflow.domain.results import ProjectStatus, ProjectSummary
from workflow.server.api.common import (
    MOVED_ON,
    EventOut,
    IdempotencyKey,
    IfMatch,
    command,
    etag,
    event_response,
    expected_seq,
    links,
)
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["projects"])
TEXT = 4000
Code = Annotated[str, Field(max_length=64)]


class ProjectIn(BaseModel):
    code: Code
    template: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=200)
    client: str | None = Field(default=None, max_length=200)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    calendar: str | None = Field(default=None, max_length=32, description="e.g. GB-ENG: whose holidays")
    starts_on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD: the clock's start")


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=TEXT)


class Signing(BaseModel):
    role: str = Field(max_length=64)
    comment: str | None = Field(default=None, max_length=TEXT)


class Rejection(BaseModel):
    role: str = Field(max_length=64)
    reason: str = Field(max_length=TEXT)


class Reason(BaseModel):
    reason: str = Field(max_length=TEXT)


class MaybeReason(BaseModel):
    reason: str | None = Field(default=None, max_length=TEXT)


class Board(BaseModel):
    projects: list[ProjectSummary]
    next: str | None = Field(description="pass as after= for the next page; null after the last")


class History(BaseModel):
    events: list[EventOut]
    next: int | None = Field(description="pass as after_seq= for the next page; null after the last")


@router.get(
    "/projects",
    response_model=Board,
    responses=links(200, status=("get", "/projects/{code}", {"code": "$response.body#/projects/0/code"})),
)
def board(
    who: CurrentIdentity,
    engine: EngineDep,
    status: str | None = None,
    template: str | None = None,
    phase: str | None = None,
    after: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
    overdue: bool = False,
    sort: Literal["code", "due"] = "code",
) -> dict[str, Any]:
    """Every project I may read, in code order (or by due date), a page at a time."""
    projects, following = page_and_next(
        lambda size: engine.iter_projects(reader=who, status=status, template=template, phase=phase,
                                          after=after, limit=size, overdue=overdue or None, sort=sort),
        limit, lambda p: p.code)
    return {"projects": projects, "next": following}


CREATED = "$response.body#/project"


@router.post(
    "/projects",
    status_code=201,
    response_model=EventOut,
    responses=links(
        201,
        status=("get", "/projects/{code}", {"code": CREATED}),
        history=("get", "/projects/{code}/history", {"code": CREATED}),
        report=("get", "/projects/{code}/report", {"code": CREATED}),
        assign=("put", "/projects/{code}/team/{role}/{person}", {"code": CREATED}),
        hold=("post", "/projects/{code}/hold", {"code": CREATED}),
        cancel=("post", "/projects/{code}/cancel", {"code": CREATED}),
    ),
)
def create(
    body: ProjectIn,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    command(request, "create")
    return event_response(
        engine.create_project(
            body.code,
            template=body.template,
            actor=who,
            name=body.name,
            client=body.client,
            version=body.version,
            request_id=idempotency_key,
            calendar=body.calendar,
            starts_on=body.starts_on,
        ),
        status_code=201,
    )


@router.get("/projects/{code}", response_model=ProjectStatus)
def status(
    code: str,
    response: Response,
    who: CurrentIdentity,
    engine: EngineDep,
    at: str | None = Query(default=None, max_length=40),
) -> ProjectStatus:
    """The project as it stands (or stood ``at``); the ETag is its last event's number."""
    found = engine.status(code, reader=who, at=at)
    response.headers["ETag"] = etag(found.seq)
    return found


@router.put(
    "/projects/{code}/team/{role}/{person}",
    response_model=EventOut,
    responses={
        **MOVED_ON,
        **links(
            200,
            unassign=(
                "delete",
                "/projects/{code}/team/{role}/{person}",
                {
                    "code": "$request.path.code",
                    "role": "$request.path.role",
                    "person": "$request.path.person",
                },
            ),
            task_done=(
                "post",
                "/projects/{code}/tasks/{role}/done",
                {"code": "$request.path.code", "role": "$request.path.role"},
            ),
        ),
    },
)
def assign(
    code: str,
    role: str,
    person: str,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "assign")
    return event_response(
        engine.assign(
            code, role, person, actor=who, request_id=idempotency_key, expected_seq=expected_seq(if_match)
        )
    )


@router.delete("/projects/{code}/team/{role}/{person}", response_model=EventOut, responses=MOVED_ON)
def unassign(
    code: str,
    role: str,
    person: str,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "unassign")
    return event_response(
        engine.unassign(
            code, role, person, actor=who, request_id=idempotency_key, expected_seq=expected_seq(if_match)
        )
    )


@router.post("/projects/{code}/tasks/{role}/done", response_model=EventOut, responses=MOVED_ON)
def task_done(
    code: str,
    role: str,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    body: Note | None = None,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "task.done")
    return event_response(
        engine.complete_task(
            code,
            role,
            actor=who,
            note=None if body is None else body.note,
            request_id=idempotency_key,
            expected_seq=expected_seq(if_match),
        )
    )


@router.post("/projects/{code}/tasks/{role}/reopen", response_model=EventOut, responses=MOVED_ON)
def task_reopen(
    code: str,
    role: str,
    body: Reason,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "task.reopen")
    return event_response(
        engine.reopen_task(
            code,
            role,
            actor=who,
            reason=body.reason,
            request_id=idempotency_key,
            expected_seq=expected_seq(if_match),
        )
    )


@router.post("/projects/{code}/approvals", response_model=EventOut, responses=MOVED_ON)
def approve(
    code: str,
    body: Signing,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "approve")
    return event_response(
        engine.approve(
            code,
            body.role,
            actor=who,
            comment=body.comment,
            request_id=idempotency_key,
            expected_seq=expected_seq(if_match),
        )
    )


@router.delete("/projects/{code}/approvals/{role}", response_model=EventOut, responses=MOVED_ON)
def withdraw(
    code: str,
    role: str,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    body: Annotated[MaybeReason | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "withdraw")
    return event_response(
        engine.withdraw(
            code,
            role,
            actor=who,
            reason=None if body is None else body.reason,
            request_id=idempotency_key,
            expected_seq=expected_seq(if_match),
        )
    )


@router.post("/projects/{code}/rejections", response_model=EventOut, responses=MOVED_ON)
def reject(
    code: str,
    body: Rejection,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "reject")
    return event_response(
        engine.reject(
            code,
            body.role,
            actor=who,
            reason=body.reason,
            request_id=idempotency_key,
            expected_seq=expected_seq(if_match),
        )
    )


@router.post("/projects/{code}/advance", response_model=EventOut, responses=MOVED_ON)
def advance(
    code: str,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "advance")
    return event_response(
        engine.advance(code, actor=who, request_id=idempotency_key, expected_seq=expected_seq(if_match))
    )


@router.post("/projects/{code}/hold", response_model=EventOut, responses=MOVED_ON)
def hold(
    code: str,
    body: Reason,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "hold")
    return event_response(
        engine.hold(
            code,
            actor=who,
            reason=body.reason,
            request_id=idempotency_key,
            expected_seq=expected_seq(if_match),
        )
    )


@router.post("/projects/{code}/resume", response_model=EventOut, responses=MOVED_ON)
def resume(
    code: str,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "resume")
    return event_response(
        engine.resume(code, actor=who, request_id=idempotency_key, expected_seq=expected_seq(if_match))
    )


@router.post("/projects/{code}/cancel", response_model=EventOut, responses=MOVED_ON)
def cancel(
    code: str,
    body: Reason,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    command(request, "cancel")
    return event_response(
        engine.cancel(
            code,
            actor=who,
            reason=body.reason,
            request_id=idempotency_key,
            expected_seq=expected_seq(if_match),
        )
    )


@router.get("/projects/{code}/history", response_model=History)
def history(
    code: str,
    who: CurrentIdentity,
    engine: EngineDep,
    since: str | None = Query(default=None, max_length=40),
    until: str | None = Query(default=None, max_length=40),
    actor: str | None = Query(default=None, max_length=64),
    action: str | None = Query(default=None, max_length=32),
    phase: str | None = Query(default=None, max_length=64),
    after_seq: int = Query(default=0, ge=0, le=10**9),
    limit: int = Query(default=100, ge=1, le=1000),
    last: int | None = Query(default=None, ge=1, le=COUNT_MAX),
) -> dict[str, Any]:
    """The events, oldest first, a page at a time (``next`` is the ``after_seq`` of the next page)."""
    events, following = page_and_next(
        lambda size: engine.iter_history(code, reader=who, since=since, until=until, actor=actor,
                                         action=action, phase=phase, after=after_seq, limit=size, last=last),
        limit, lambda e: e.seq)
    return {"events": [e.to_dict() for e in events], "next": following}


@router.get("/projects/{code}/report")
def report(code: str, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Each phase visit: start, end, time in work, time waiting on each gate role, who signed."""
    return engine.report(code, reader=who).to_dict()
