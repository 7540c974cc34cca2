"""The project page's "Outside signers" section: the invitations (``Engine.invitations``) and, for the
lead or an admin, the form that invites an external role's signer by e-mail and each live link's
Revoke. Both forms run the declared commands (``invite``, ``revoke_invite``: workflow/domain/commands.py)
with the session's CSRF token, the page's ``seq`` and a request id, then POST, redirect, GET.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from workflow.domain.identity import Identity
from workflow.domain.results import ProjectStatus
from workflow.domain.wording import describe
from workflow.engine import Engine
from workflow.errors import PhasegateError
from workflow.server.auth import engine_of
from workflow.server.web.actions import Form, _seq, needed, project_path, see, text
from workflow.server.web.flash import remember
from workflow.server.web.render import when
from workflow.server.web.session import viewer

router = APIRouter()
ANCHOR = "#h-signers"


def section(engine: Engine, st: ProjectStatus, definition: Any, me: Identity) -> dict[str, Any]:
    """What the section draws: the template's external roles, the invitations, whether ``me`` may invite
    (the rule itself is the engine's: a refused form says why)."""
    external = [(r.key, r.title) for r in definition.roles if getattr(r, "external", False)]
    if not external:
        return {"external_roles": [], "invitations": [], "may_invite": False}
    try:
        found = engine.invitations(st.code, reader=me)
    except PhasegateError:
        found = []
    may = "admin" in engine.grants_of(me.person) or me.person in st.team.get(definition.lead, ())
    return {"external_roles": external, "invitations": found,
            "may_invite": may and st.status in ("active", "on_hold") and st.as_of is None}


def _do(request: Request, code: str, form: dict[str, Any], action: str,
        call: Callable[[Engine, Identity], Any]) -> Response:
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = action
    back = see(project_path(code) + ANCHOR)
    try:
        event = call(engine_of(request), me)
    except PhasegateError as exc:
        return remember(request, back, error=exc)
    details = describe(event.action, event.data, day=when)
    return remember(request, back, notice=f"{code}: done ({action})" + (f": {details}." if details else "."))


@router.post("/projects/{code}/invitations")
def invite(request: Request, code: str, form: Form) -> Response:
    """Invite an outside signer: the role, the e-mail address, a name, how long the link lasts."""
    return _do(request, code, form, "invite", lambda e, me: e.invite(
        code, needed(form, "role", "the role"), email=needed(form, "email", "the e-mail address"),
        name=text(form, "name"), expires=text(form, "expires"), actor=me, expected_seq=_seq(form),
        request_id=text(form, "request_id")))


@router.post("/projects/{code}/invitations/{invitation}/revoke")
def revoke(request: Request, code: str, invitation: str, form: Form) -> Response:
    """Revoke an invitation: its link is dead, its signer leaves the role."""
    return _do(request, code, form, "invite.revoke", lambda e, me: e.revoke_invite(
        code, invitation, actor=me, expected_seq=_seq(form), request_id=text(form, "request_id")))
