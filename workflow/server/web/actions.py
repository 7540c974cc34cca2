"""What the pages' forms do: each POST is one Engine call, then a redirect to a page (POST, redirect, GET).

A refused form is redirected too (303) to the page it came from, drawn fresh, the Engine's
sentence in an alert (carried by a cookie signed with the session: :mod:`workflow.server.web.flash`):
nothing is half-done, the person sees the state that refused them, and Reload re-reads the page
instead of meeting 405. Three answers are pages, not redirects: a new token (its secret is shown
once and stored nowhere), a template's Check and an audit's Verify (their findings are the answer).
Every form carries the session's CSRF token; a project form also the
``seq`` of the state it was drawn from (the engine refuses it, under its lock, when the
project has moved on: nobody signs a state they did not see) and a request id, so a
double-click is one command.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from workflow.domain.commands import COMMANDS, TEXT_MAX, Command
from workflow.domain.identity import Identity
from workflow.domain.inputs import event_number, shown
from workflow.domain.wording import describe
from workflow.engine import Engine
from workflow.errors import Busy, PhasegateError, Throttled, UsageError
from workflow.server import checks
from workflow.server.api.me import set_device_cookie, set_session_cookie
from workflow.server.auth import SESSION_COOKIE, client_address, engine_of, refuse_cross_site, settings_of
from workflow.server.bodies import UPLOADS
from workflow.server.checks import TEMPLATE_CHECKS
from workflow.server.errors import for_the_caller
from workflow.server.web import deliverables, pages
from workflow.server.web.flash import remember
from workflow.server.web.render import page, when
from workflow.server.web.session import safe_next, signed_in, viewer

router = APIRouter()
TEXT = TEXT_MAX  # every typed field (a name, a reason) is refused past the free text's limit
FILE_FIELDS = frozenset({"file", "checkpoint"})  # the only fields a file may be sent in


async def form_of(request: Request) -> dict[str, Any]:
    """The form's fields (an uploaded file's bytes under its field name; the first of a repeated field).

    Read only for someone signed in (the sign-in form aside): a post without a credential is sent
    to sign in before its body costs a parse. Only the forms that upload a file take one, so no
    other form spools anything to disk; the body's size is bounded before this
    (:mod:`workflow.server.bodies`).
    """
    if request.url.path != "/signin":
        await run_in_threadpool(signed_in, request)
    fields: dict[str, Any] = {}
    async with request.form(max_files=1 if request.url.path in UPLOADS else 0) as form:
        for name, value in form.multi_items():
            if name in fields:
                continue
            if isinstance(value, UploadFile):
                if name not in FILE_FIELDS:
                    raise UsageError(f"the form's field {shown(name)} takes text, not a file")
                data = await value.read()
                if data:
                    fields[name] = data
            else:
                fields[name] = value
    return fields


Form = Annotated[dict[str, Any], Depends(form_of)]


def text(form: dict[str, Any], name: str, *, required: str | None = None) -> str | None:
    """A typed field, stripped; ``required``: the sentence naming it when it is empty."""
    value = str(form.get(name) or "").strip()
    if len(value) > TEXT:
        raise UsageError(f"the {name} is longer than {TEXT} characters")
    if not value and required:
        raise UsageError(f"give {required}")
    return value or None


def see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def project_path(code: str) -> str:
    return f"/projects/{quote(code, safe='')}"


# -- signing in and out --------------------------------------------------------------------------


@router.post("/signin", response_class=HTMLResponse)
def sign_in(request: Request, form: Form) -> Response:
    engine, back = engine_of(request), safe_next(form.get("next"))
    login = str(form.get("login") or "").strip()
    try:
        refuse_cross_site(request)  # no signing someone in to the forger's account
        identity, device = engine.sign_in(login, str(form.get("password") or ""),
                                          address=client_address(request), devices_sent=request.cookies)
    except PhasegateError as refusal:
        exc = for_the_caller(request, refusal)  # never where the database is, to someone not signed in
        refused = page(request, "signin.html", status=exc.http_status, error=exc, next=back, login=login)
        if isinstance(exc, Throttled | Busy):
            refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    session_id, _csrf = engine.open_session(identity)
    response = see(back)
    secure = settings_of(request).secure_cookies
    set_session_cookie(response, session_id, secure=secure)
    set_device_cookie(response, device, secure=secure)
    return response


@router.post("/signout")
def sign_out(request: Request, form: Form) -> Response:
    viewer(request, csrf=form.get("csrf"))
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        engine_of(request).close_session(session_id)
    response = see("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- projects ------------------------------------------------------------------------------------


def _seq(form: dict[str, Any]) -> int:
    number = event_number(str(form.get("seq") or ""))
    if number is None:
        raise UsageError("this form does not say which state of the project it was drawn from; "
                         "reload the page")
    return number


def needed(form: dict[str, Any], name: str, what: str) -> str:
    """A field that must not be empty (``what`` names it in the refusal)."""
    return text(form, name, required=what) or ""


def _person(f: dict[str, Any]) -> str:
    return needed(f, "person", "the person's login name")


# a form's action -> the project command it runs (each declared once, with its button: domain/commands.py)
MOVES: dict[str, Command] = {cmd.web.action: cmd for cmd in COMMANDS.values() if cmd.web is not None}


def _arguments(cmd: Command, form: dict[str, Any]) -> dict[str, Any]:
    """The command's parameters from the form's fields of the same names (a required one must not be
    empty: its declaration's words ask for it)."""
    return {p.name: needed(form, p.name, p.arg.what) if p.required else text(form, p.name)
            for p in cmd.params}


STAFFING = ("assign", "unassign")  # a change of the team: its notice warns of the gates it cannot sign

# what My work says after a move from it, and the move that takes it back (an undo form)
DONE_FROM_WORK = {"done": ("the {title} task is marked done", "reopen"),
                  "approve": ("approved as {title}", "withdraw")}


@router.post("/projects/{code}/do")
def act(request: Request, code: str, form: Form) -> Response:
    """One project command, then back to the page the form was on: the project page, or My work
    (``back=work``) with what was done and its undo. A refusal goes back too, its sentence with it."""
    me = viewer(request, csrf=form.get("csrf"))
    engine = engine_of(request)
    from_work = form.get("back") == "work"
    back = "/" if from_work else project_path(code)
    try:
        cmd = MOVES.get(str(form.get("action")))
        if cmd is None:
            raise UsageError(f"there is no action {str(form.get('action'))[:40]!r} on a project page")
        request.state.action = str(form.get("action"))
        if cmd.web is not None and cmd.web.confirm and text(form, "confirm") != code:
            raise UsageError(f"nothing done: type the project's code, {code}, to {cmd.web.label.lower()} "
                             "for good")
        run: Callable[..., Any] = getattr(engine, cmd.name)
        expected, request_id = _seq(form), text(form, "request_id")
        arguments = _arguments(cmd, form)
        event = run(code, **arguments, actor=me, expected_seq=expected, request_id=request_id)
    except PhasegateError as exc:
        return remember(request, see(back), error=deliverables.changed(engine, code, me, form, exc))
    if from_work and cmd.web is not None and cmd.web.action in DONE_FROM_WORK:
        return remember(request, see(back), **_done_from_work(engine, me, code, cmd.web.action, arguments))
    # what was done, in the status region the page focuses (the keyboard goes on from there)
    details = describe(event.action, event.data, day=when)
    label = cmd.web.label if cmd.web is not None else cmd.name
    said = f"{code}: done ({label})" + (f": {details}." if details else ".")
    if cmd.name in STAFFING:  # a warning, never a refusal: the change is made
        said += "".join(f" Warning: {w}." for w in engine.check_project(code, reader=me).warnings)
    return remember(request, see(back), notice=said)


def _done_from_work(engine: Engine, me: Identity, code: str, action: str, arguments: dict[str, Any]
                    ) -> dict[str, Any]:
    """My work's confirmation of ``action`` on ``code`` and, where the person may take it back now,
    the undo form's fields (the state it is drawn from: the one after the move)."""
    role = str(arguments.get("role") or "")
    current, moves = engine.status_and_moves(code, reader=me)
    titles = {t.role: t.role_title for t in current.tasks}
    if current.gate is not None:
        titles |= {a.role: a.role_title for a in current.gate.approvals}
    sentence, undo_action = DONE_FROM_WORK[action]
    notice = f"{code}: " + sentence.format(title=titles.get(role, role)) + "."
    undo_cmd = MOVES[undo_action]
    if not any(m.command == undo_cmd.name and m.role == role for m in moves):
        return {"notice": notice}
    asks_reason = any(p.name == "reason" and p.required for p in undo_cmd.params)
    label = undo_cmd.web.label if undo_cmd.web else undo_action
    return {"notice": notice, "undo": {"project": code, "action": undo_action, "role": role,
                                       "seq": str(current.seq), "label": label,
                                       "reason": "yes" if asks_reason else ""}}


@router.post("/projects", response_class=HTMLResponse)
def create(request: Request, form: Form) -> Response:
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = "create"
    try:
        code = needed(form, "code", "the project's code")
        engine_of(request).create_project(code, template=needed(form, "template", "a template"),
                                          actor=me, name=text(form, "name"), client=text(form, "client"),
                                          calendar=text(form, "calendar"), starts_on=text(form, "starts_on"),
                                          request_id=text(form, "request_id"))
    except PhasegateError as exc:
        fields = ("code", "template", "name", "client", "starts_on", "calendar")
        draft = {k: str(form.get(k) or "") for k in fields}
        return remember(request, see("/projects"), error=exc, draft=draft)
    return see(project_path(code))


# -- templates -----------------------------------------------------------------------------------


def _yaml(form: dict[str, Any]) -> bytes:
    data = form.get("file") or str(form.get("yaml") or "").replace("\r\n", "\n").encode()
    if isinstance(data, str):
        raise UsageError("the template's file was sent as text; choose it as a file, or paste it in the box")
    if not data.strip():
        raise UsageError("paste the template's YAML or choose a file")
    return bytes(data)


def _as_typed(form: dict[str, Any]) -> dict[str, Any]:
    """The form with a chosen file's text in the box: what was checked is what Publish sends."""
    data = form.get("file")
    return {**form, "yaml": data.decode("utf-8", "replace")} if isinstance(data, bytes) else form


@router.post("/templates/check", response_class=HTMLResponse)
def check_template(request: Request, form: Form) -> Response:
    me = viewer(request, csrf=form.get("csrf"))
    try:
        definition = checks.check_template(_yaml(form))
    except PhasegateError as exc:
        return pages.templates_page(request, me, error=exc, draft=_as_typed(form))
    return pages.templates_page(request, me, draft=_as_typed(form), checked=definition)


@router.post("/templates/publish", response_class=HTMLResponse)
def publish_template(request: Request, form: Form) -> Response:
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = "template.publish"
    try:
        data = _yaml(form)
        with TEMPLATE_CHECKS.slot():
            info, _published = engine_of(request).publish_template(data, actor=me, name="the template")
    except PhasegateError as exc:
        return pages.templates_page(request, me, error=exc, draft=_as_typed(form))
    return see(f"/templates/{quote(info.key, safe='')}?version={info.version}")


# -- audit ---------------------------------------------------------------------------------------


@router.post("/audit/verify", response_class=HTMLResponse)
def verify(request: Request, form: Form) -> Response:
    """Verify every chain (or one project's), against an uploaded checkpoint when one is given."""
    me = viewer(request, csrf=form.get("csrf"))
    project = text(form, "project")
    try:
        with tempfile.TemporaryDirectory() as folder:
            anchor = None
            if form.get("checkpoint"):
                if isinstance(form["checkpoint"], str):
                    raise UsageError("the checkpoint was sent as text; choose the checkpoint file")
                anchor = Path(folder) / "checkpoint.json"
                anchor.write_bytes(form["checkpoint"])
            if anchor is None:  # nothing uploaded: the verification is read where the redirect leads
                return see("/audit?verify=" + quote(project or "*", safe=""))
            report = engine_of(request).verify_audit(project, reader=me, checkpoint=anchor)
    except PhasegateError as exc:
        return remember(request, see("/audit"), error=exc)
    # Against a checkpoint file the file is the input (up to 64 MiB; no draft is kept on the server), so
    # this answer is the page itself; the address read again (GET) leads to /audit.
    return pages.audit_page(request, me, report=report, project=project)


@router.post("/audit/checkpoint")
def checkpoint(request: Request, form: Form) -> Response:
    """The checkpoint as a file to keep outside the database (signed when the server has the key)."""
    me = viewer(request, csrf=form.get("csrf"))
    try:
        cp = engine_of(request).checkpoint(reader=me)
    except PhasegateError as exc:
        return remember(request, see("/audit"), error=exc)
    stamp = cp.created_at.replace(":", "").replace("-", "")[:15]
    return Response(cp.to_json(), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="phasegate-checkpoint-{stamp}.json"'})


# -- people and grants (my tokens: workflow/server/web/settings.py) ---------------------------------


def _people_form(request: Request, form: Form, call: Callable[[Engine, Identity], Any]) -> Response:
    me = viewer(request, csrf=form.get("csrf"))
    try:
        call(engine_of(request), me)
    except PhasegateError as exc:
        return remember(request, see("/people"), error=exc)
    return see("/people")


@router.post("/people", response_class=HTMLResponse)
def add_person(request: Request, form: Form) -> Response:
    def call(e: Engine, me: Identity) -> None:
        login = needed(form, "login", "the login name")
        e.add_user(login, actor=me, name=text(form, "name"), email=text(form, "email"))

    return _people_form(request, form, call)


@router.post("/people/{login}/active", response_class=HTMLResponse)
def set_active(request: Request, login: str, form: Form) -> Response:
    def call(e: Engine, me: Identity) -> None:
        (e.enable_user if form.get("active") == "yes" else e.disable_user)(login, actor=me)

    return _people_form(request, form, call)


@router.post("/people/{login}/password", response_class=HTMLResponse)
def set_password(request: Request, login: str, form: Form) -> Response:
    """An admin sets anyone's password (``/people/-/password`` with the person in the form); a
    person changes their own from their Settings page (``from=settings``; ``from=tokens``, the
    page it was on before, lands there too), with their current password (the Engine asks for it
    whichever form it comes from)."""
    person = str(form.get("person") or login)

    def call(e: Engine, me: Identity) -> None:
        password = str(form.get("password") or "")
        if password != str(form.get("again") or ""):
            raise UsageError("the two passwords differ; type the same one twice")
        e.set_password(person, password, actor=me, current=str(form.get("current") or "") or None)

    if form.get("from") not in ("settings", "tokens"):
        return _people_form(request, form, call)
    me = viewer(request, csrf=form.get("csrf"))
    try:
        call(engine_of(request), me)
    except PhasegateError as exc:
        return remember(request, see("/settings"), error=exc)
    return remember(request, see("/settings"), notice="Your password is changed.")


@router.post("/grants", response_class=HTMLResponse)
def grant(request: Request, form: Form) -> Response:
    def call(e: Engine, me: Identity) -> None:
        privilege = needed(form, "privilege", "the privilege")
        (e.revoke if form.get("revoke") == "yes" else e.grant)(_person(form), privilege, actor=me)

    return _people_form(request, form, call)
