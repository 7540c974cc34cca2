"""``/projects``: the board, a project's status (with its ETag), its team, work, moves, history, report."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, create_model

from workflow.domain.audit.events import Event
from workflow.domain.commands import COMMANDS, Command
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
Code = Annotated[str, Field(max_length=64)]
Key = Annotated[str, Field(max_length=64)]  # a role's key or a login name


class ProjectIn(BaseModel):
    code: Code
    template: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=200)
    client: str | None = Field(default=None, max_length=200)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    calendar: str | None = Field(default=None, max_length=32, description="e.g. GB-ENG: whose holidays")
    starts_on: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD: the clock's start")
    team: dict[Key, Annotated[list[Key], Field(max_length=64)]] | None = Field(
        default=None, max_length=64, description="role -> people, assigned right after the create (each its "
        "own assign event); the answer's warnings name the gates this team cannot sign")


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
        **{cmd.action: (cmd.method.lower(), cmd.path, {"code": CREATED})
           for cmd in (COMMANDS["assign"], COMMANDS["hold"], COMMANDS["cancel"])},
    ),
)
def create(
    body: ProjectIn,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new project in the first phase of a template (admins); ``Idempotency-Key`` makes a retry safe."""
    command(request, "create")
    given = body.model_dump(exclude={"code"})  # template, name, client, version, calendar, starts_on, team
    event = engine.create_project(body.code, actor=who, request_id=idempotency_key, **given)
    return warned(event, engine, who, staffing=bool(body.team), status_code=201)


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


# -- the project commands: one endpoint each, built from its declaration (workflow/domain/commands.py) --


# The body fields that may also be a JSON object (commands.py's ``Seen``): an approval's digests.
MAPPINGS = {"deliverables": "the digests of the deliverables the signer saw: {KEY: SHA256} (or the text "
                            "KEY=SHA256 KEY=SHA256); not the current ones -> 412 with the current set"}


def _body_model(cmd: Command) -> type[BaseModel] | None:
    """The command's JSON body: its parameters that are not in the path, with their limits."""
    fields: dict[str, Any] = {}
    for p in cmd.body_params():
        if p.required:
            fields[p.key] = (str, Field(max_length=p.arg.max_length, description=p.arg.format))
        elif p.key in MAPPINGS:
            fields[p.key] = (str | dict[str, Annotated[str, Field(max_length=64)]] | None, Field(
                default=None, description=MAPPINGS[p.key]))
        else:
            fields[p.key] = (str | None, Field(default=None, max_length=p.arg.max_length,
                                               description=p.arg.format))
    if not fields:
        return None
    name = "".join(part.title() for part in cmd.name.split("_")) + "In"
    return create_model(name, __doc__=f"The body of {cmd.method} {cmd.path}.", **fields)


def _endpoint(cmd: Command) -> Callable[..., Response]:
    """``cmd`` as an endpoint: the path's values and the body's fields, then one Engine call for the
    authenticated person (``Idempotency-Key`` its request id, ``If-Match`` the seq it expects)."""
    model = BODY_MODELS[cmd.name]
    path_names = [p.name for p in cmd.path_params()]
    in_body = [(p.name, p.key) for p in cmd.body_params()]

    def endpoint(**values: Any) -> Response:
        command(values["request"], cmd.action)
        body = values.get("body")
        args = {name: values[name] for name in path_names}
        args |= {name: None if body is None else getattr(body, key) for name, key in in_body}
        engine = values["engine"]
        run: Callable[..., Event] = getattr(engine, cmd.name)
        event = run(values["code"], **args, actor=values["who"], request_id=values["idempotency_key"],
                    expected_seq=expected_seq(values["if_match"]))
        return warned(event, engine, values["who"], staffing=cmd.name in STAFFING)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(name, keyword, annotation=str) for name in ("code", *path_names)]
    if model is not None:
        optional = not any(p.required for p in cmd.body_params())
        params.append(inspect.Parameter("body", keyword, annotation=Annotated[model | None, Body()],
                                        default=None) if optional else
                      inspect.Parameter("body", keyword, annotation=Annotated[model, Body()]))
    params += [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("who", keyword, annotation=CurrentIdentity),
        inspect.Parameter("engine", keyword, annotation=EngineDep),
        inspect.Parameter("idempotency_key", keyword, annotation=IdempotencyKey, default=None),
        inspect.Parameter("if_match", keyword, annotation=IfMatch, default=None),
    ]
    endpoint.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    endpoint.__name__ = endpoint.__qualname__ = cmd.action.replace(".", "_")
    endpoint.__doc__ = f"{cmd.doc} ({cmd.who}; ``phasegate {' '.join(cmd.cli)}``)"
    return endpoint


STAFFING = ("assign", "unassign")  # the commands whose answer carries the staffing check's warnings


def warned(event: Event, engine: Any, who: Any, *, staffing: bool, status_code: int = 200) -> Response:
    """A write's answer: its event; a staffing change's (``staffing``) with ``warnings`` too: each
    remaining gate the team as it now stands cannot sign (the check is read after the change's own
    transaction: a warning, never a refusal)."""
    if not staffing:
        return event_response(event, status_code=status_code)
    assert event.project is not None
    warnings = engine.check_project(event.project, reader=who).warnings
    return JSONResponse({**event.to_dict(), "warnings": warnings}, status_code=status_code)


def _then(cmd: Command) -> dict[int | str, dict[str, Any]]:
    """OpenAPI links from the command's answer to the commands it makes possible, the path's
    values carried over."""
    targets = {}
    for name in cmd.then:
        nxt = COMMANDS[name]
        carried = {p.name: f"$request.path.{p.name}" for p in nxt.path_params()}
        targets[nxt.action.replace(".", "_")] = (nxt.method.lower(), nxt.path, {"code": "$request.path.code",
                                                                               **carried})
    return links(200, **targets) if targets else {}


# Each command's body model: the route's (documented, and validating a session's request) and the
# lean path's (workflow/server/lean.py, which serves a bearer token's request) alike.
BODY_MODELS = {_cmd.name: _body_model(_cmd) for _cmd in COMMANDS.values()}
for _cmd in COMMANDS.values():
    router.add_api_route(_cmd.path, _endpoint(_cmd), methods=[_cmd.method], response_model=EventOut,
                         responses={**MOVED_ON, **_then(_cmd)})


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


@router.get("/projects/{code}/check")
def check(code: str, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Can every remaining gate be signed by the team as staffed? For each gate from the current phase
    on: ``can_pass``, or its ``reasons`` and the ``fixes`` (the smallest change: whom to assign). A
    gate that cannot pass is the report's ``ok: false``, not an error (``phasegate project check``
    exits 7 on it)."""
    return engine.check_project(code, reader=who).to_dict()


@router.get("/projects/{code}/report")
def report(code: str, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Each phase visit: start, end, time in work, time waiting on each gate role, who signed."""
    return engine.report(code, reader=who).to_dict()
