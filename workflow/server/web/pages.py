"""The pages people read: my work, the board, a project, templates, audit, people, my tokens (my
settings: :mod:`workflow.server.web.settings`).

Each handler is one or two Engine calls for the signed-in person and a template. A page
function (``project_page``, ``board_page`` …) also answers a refused form: the same page,
drawn fresh, with the Engine's sentence in an alert and the error's HTTP status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from workflow.domain.commands import COMMANDS, Move
from workflow.domain.identity import Identity
from workflow.domain.inputs import COUNT_MAX
from workflow.domain.paging import page_and_next
from workflow.domain.vocabulary import (  # the forms offer exactly what the engine accepts
    EVENT_ACTIONS,
    HISTORY_ACTIONS,
    PRIVILEGES,
)
from workflow.domain.wording import describe
from workflow.errors import PhasegateError
from workflow.server.auth import engine_of
from workflow.server.web.deliverables import shown as shown_deliverables
from workflow.server.web.render import page, when
from workflow.server.web.session import safe_next, viewer
from workflow.server.web.views import offer, steps

router = APIRouter()
BOARD_PAGE = 50
HISTORY_PAGE = 25
# The Assign form's people: a select of them when they are this few, else a field that suggests the
# first PICKER_MOST as one types (the server refuses a name without an account whatever is typed).
PICKER_SELECT_MOST = 30
PICKER_MOST = 500


def _status(error: PhasegateError | None, ok: int = 200) -> int:
    return error.http_status if error is not None else ok


@router.get("/signin", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return page(request, "signin.html", next=safe_next(next))


@router.get("/", response_class=HTMLResponse)
def my_work(request: Request) -> HTMLResponse:
    me = viewer(request)
    return page(request, "work.html", work=engine_of(request).work_of(me), commands=COMMANDS)


# -- the board -----------------------------------------------------------------------------------


@router.get("/projects", response_class=HTMLResponse)
def board(request: Request, status: str | None = None, template: str | None = None, phase: str | None = None,
          after: str | None = Query(default=None, max_length=64), overdue: str | None = None,
          sort: str | None = None) -> HTMLResponse:
    viewer(request)
    return board_page(request, filters={"status": status or None, "template": template or None,
                                        "phase": phase or None, "overdue": "1" if overdue else None,
                                        "sort": "due" if sort == "due" else None}, after=after or None)


def board_page(request: Request, *, filters: dict[str, str | None] | None = None, after: str | None = None,
               error: PhasegateError | None = None, draft: dict[str, Any] | None = None) -> HTMLResponse:
    me, engine = viewer(request), engine_of(request)
    empty: dict[str, str | None] = dict.fromkeys(("status", "template", "phase", "overdue", "sort"))
    filters = empty | (filters or {})
    rows: list[Any] = []
    following = None
    refused: PhasegateError | None = None
    try:
        rows, following = page_and_next(
            lambda limit: engine.iter_projects(reader=me, after=after, limit=limit, status=filters["status"],
                                               template=filters["template"], phase=filters["phase"],
                                               overdue=bool(filters["overdue"]) or None,
                                               sort=filters["sort"] or "code"),
            BOARD_PAGE, lambda p: p.code)
    except PhasegateError as exc:  # a filter naming what does not exist: why, not "No project matches"
        error, refused = error or exc, exc
    return page(request, "board.html", status=_status(error), error=error, refused=refused, projects=rows,
                next=following, filters=filters, after=after,
                templates=engine.templates(), phases=engine.phase_choices(), draft=draft or {})


# -- a project -----------------------------------------------------------------------------------


@router.get("/projects/{code}", response_class=HTMLResponse)
def project(request: Request, code: str, at: str | None = Query(default=None, max_length=40),
            action: str | None = Query(default=None, max_length=40),
            actor: str | None = Query(default=None, max_length=64),
            after: int = Query(default=0, ge=0, le=COUNT_MAX)
            ) -> HTMLResponse:
    viewer(request)
    return project_page(request, code, at=at or None, action=action or None, actor=actor or None, after=after)


@router.get("/projects/{code}/live")
def live(request: Request, code: str, seq: int = Query(ge=0, le=COUNT_MAX)) -> Response:
    """For the page's poll: nothing (204) while the project is still at ``seq``, else the fresh page."""
    me = viewer(request)
    try:
        if engine_of(request).status(code, reader=me).seq == seq:
            return Response(status_code=204)
    except PhasegateError:
        pass  # the page answers with the sentence
    return project_page(request, code)


def project_page(request: Request, code: str, *, at: str | None = None, action: str | None = None,
                 actor: str | None = None, after: int = 0, error: PhasegateError | None = None
                 ) -> HTMLResponse:
    """The project page as it stands (or stood ``at``); also what a refused form answers with."""
    me, engine = viewer(request), engine_of(request)
    moves: frozenset[Move] = frozenset()
    try:
        if at is None:
            current, moves = engine.status_and_moves(code, reader=me)
        else:
            current = engine.status(code, reader=me, at=at)
        events, history_next = page_and_next(
            lambda limit: engine.iter_history(code, reader=me, action=action, actor=actor, after=after,
                                              limit=limit),
            HISTORY_PAGE, lambda e: e.seq)
    except PhasegateError as exc:
        if at is None and action is None and actor is None:
            return page(request, "error.html", status=exc.http_status, error=exc, title=code)
        error, events, history_next = exc, [], None  # a bad filter: the page, and why
        current, moves = engine.status_and_moves(code, reader=me)
    _info, definition, _src = engine.template(current.template, current.template_version)
    titles = {r.key: r.title for r in definition.roles}
    offered = offer(current, me.person, moves)
    choices = engine.assignable(most=PICKER_MOST) if offered.any("assign") else []
    # Who can change the team sees the gates it cannot sign (the others could not act on it).
    staffing = engine.check_project(code, reader=me) if at is None and offered.any("assign") else None
    files, seen = shown_deliverables(engine, current, me) if at is None else ([], None)
    from workflow.server.web.invitations import section as signers  # it imports actions, which imports this
    return page(request, "project.html", status=_status(error), error=error, st=current,
                offer=offered, commands=COMMANDS, titles=titles,
                people_choices=choices, picker_select_most=PICKER_SELECT_MOST,
                steps=steps(current, [(p.key, p.title) for p in definition.phases]),
                phase_titles={p.key: p.title for p in definition.phases},
                events=events, history_next=history_next,
                history_filter={"action": action or "", "actor": actor or ""}, after=after,
                history_actions=HISTORY_ACTIONS,
                describe=partial(describe, day=when, phases={p.key: p.title for p in definition.phases},
                                 roles=titles),
                timeline=_timeline(engine, code, me), at=at or "", files=files, seen=seen, staffing=staffing,
                **signers(engine, current, definition, me))


def _timeline(engine: Any, code: str, me: Identity) -> Markup:
    from workflow.reports.html import timeline_svg

    try:
        return Markup(timeline_svg(engine.report(code, reader=me)))
    except PhasegateError:
        return Markup("")


# -- templates -----------------------------------------------------------------------------------


@router.get("/templates", response_class=HTMLResponse)
def templates(request: Request) -> HTMLResponse:
    return templates_page(request, viewer(request))


def templates_page(request: Request, me: Identity, *, error: PhasegateError | None = None,
                   draft: dict[str, Any] | None = None, checked: Any = None) -> HTMLResponse:
    engine = engine_of(request)
    yaml_text = (draft or {}).get("yaml") or ""
    return page(request, "templates.html", status=_status(error), error=error, templates=engine.templates(),
                admin="admin" in engine.grants_of(me.person), yaml_text=yaml_text, checked=checked)


# A form's address read with GET (Reload, a bookmark, the address bar): the page the form is on,
# never 405 or 404 (every form's answer is a redirect: workflow/server/web/actions.py).
FORM_PAGES = {"/templates/check": "/templates", "/templates/publish": "/templates", "/audit/verify": "/audit",
              "/audit/checkpoint": "/audit"}


@router.get("/projects/{code}/do")
def project_form_address(code: str) -> RedirectResponse:
    return RedirectResponse(f"/projects/{quote(code, safe='')}", status_code=303)


@router.get("/templates/check")
@router.get("/templates/publish")
@router.get("/audit/verify")
@router.get("/audit/checkpoint")
def form_address(request: Request) -> RedirectResponse:
    return RedirectResponse(FORM_PAGES[request.url.path], status_code=303)


@router.get("/templates/{key}", response_class=HTMLResponse)
def template(request: Request, key: str, version: int | None = Query(default=None, ge=1, le=2**31 - 1)
             ) -> HTMLResponse:
    from workflow.domain.templates.diagram_svg import render_svg
    from workflow.domain.templates.machine import compile_machine

    viewer(request)
    engine = engine_of(request)
    try:
        info, definition, source = engine.template(key, version)
    except PhasegateError as exc:
        return page(request, "error.html", status=exc.http_status, error=exc, title=key)
    diagram = Markup(render_svg(definition, compile_machine(definition)))
    return page(request, "template.html", info=info, definition=definition, source=source, diagram=diagram,
                versions=engine.versions(key))


# -- audit ---------------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, actor: str | None = Query(default=None, max_length=64),
          action: str | None = Query(default=None, max_length=40),
          since: str | None = Query(default=None, max_length=40),
          until: str | None = Query(default=None, max_length=40),
          verify: str | None = Query(default=None, max_length=64,
                                     description="a verification's answer: '*' every chain, else a project")
          ) -> HTMLResponse:
    if until and len(until) == 10:  # a day from the date field: up to its end
        until += "T23:59:59.999999"
    search = {"actor": actor or "", "action": action or "", "since": since or "", "until": until or ""}
    me = viewer(request)
    if verify:  # where the Verify form's redirect leads (without a checkpoint file: that one is the input)
        project = None if verify == "*" else verify
        try:
            report = engine_of(request).verify_audit(project, reader=me)
        except PhasegateError as exc:
            return audit_page(request, me, search=search, error=exc)
        return audit_page(request, me, search=search, report=report, project=project)
    return audit_page(request, me, search=search)


def audit_page(request: Request, me: Identity, *, search: dict[str, str] | None = None, report: Any = None,
               project: str | None = None, error: PhasegateError | None = None) -> HTMLResponse:
    search = search or {"actor": "", "action": "", "since": "", "until": ""}
    events: list[Any] = []
    searched = any(search.values())
    if searched:
        try:
            events = engine_of(request).search_events(
                reader=me, actor=search["actor"] or None, action=search["action"] or None,
                since=search["since"] or None, until=search["until"] or None)
        except PhasegateError as exc:  # a refused search: its sentence, not "No events match."
            error, searched = error or exc, False
    return page(request, "audit.html", status=_status(error), error=error, search=search, events=events,
                describe=_describer(engine_of(request)),
                report=report, project=project or "", searched=searched, actions=EVENT_ACTIONS)


def _describer(engine: Any) -> Callable[[str, dict[str, Any]], str]:
    """``describe`` for events of any project: the titles from each event's own template version."""
    names: dict[tuple[str, int], tuple[dict[str, str], dict[str, str]]] = {}

    def described(action: str, data: dict[str, Any]) -> str:
        ref = data.get("template")
        if not isinstance(ref, dict) or action not in TITLED_ACTIONS:
            return describe(action, data, day=when)
        key = (str(ref.get("key")), int(ref.get("version") or 0))
        if key not in names:
            try:
                _info, definition, _src = engine.template(*key)
                names[key] = ({p.key: p.title for p in definition.phases},
                              {r.key: r.title for r in definition.roles})
            except PhasegateError:
                names[key] = ({}, {})
        phases, roles = names[key]
        return describe(action, data, day=when, phases=phases, roles=roles)

    return described


# events whose words name a phase or a role by key (wording.describe)
TITLED_ACTIONS = frozenset({"advance", "reject", "withdraw", "task.reopen"})


# -- people and tokens ---------------------------------------------------------------------------


@router.get("/people", response_class=HTMLResponse)
def people(request: Request) -> HTMLResponse:
    return people_page(request, viewer(request))


def people_page(request: Request, me: Identity, *, error: PhasegateError | None = None) -> HTMLResponse:
    engine = engine_of(request)
    accounts: list[Any] = []
    grants: dict[str, list[str]] = {}
    try:
        accounts, grants = engine.users(reader=me), engine.grants(reader=me)
        refused = None
    except PhasegateError as exc:
        refused = exc  # not an admin or auditor: the page says so
    held: dict[str, list[str]] = {}  # person -> the privileges they hold
    for privilege, holders in grants.items():
        for person in holders:
            held.setdefault(person, []).append(privilege)
    return page(request, "people.html", status=_status(error or refused), error=error or refused,
                accounts=accounts, held=dict(sorted(held.items())), privileges=PRIVILEGES,
                admin="admin" in engine.grants_of(me.person), can_read=refused is None)


@router.get("/me/tokens", response_class=HTMLResponse)
def tokens(request: Request) -> HTMLResponse:
    return tokens_page(request, viewer(request))


def tokens_page(request: Request, me: Identity, *, error: PhasegateError | None = None, new: Any = None,
                notice: str | None = None, status: int = 200) -> HTMLResponse:
    return page(request, "tokens.html", status=_status(error, status), error=error, new=new, notice=notice,
                tokens=engine_of(request).tokens(reader=me))
