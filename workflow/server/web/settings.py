"""My settings (``/settings``): which e-mails I get, my calendar feed's link, my tokens, my password,
and my delegations (given while I am away, and received).

Each form is one Engine call, then a redirect back to the page (POST, 303, GET), refusals
included, their sentence carried by :mod:`workflow.server.web.flash`. The calendar feed's
secret is stored only as a hash, so its link can be shown only when it is made: "New link"
makes one (the old link stops working) and the page it redirects to shows it once, carried
like any sentence in the short-lived, HttpOnly cookie signed with the session (a read-only
key to one person's due dates, in the same cookie jar as the session that could make
another). Tokens keep their page (``/me/tokens``: a new token's secret is shown on the form's
own answer, never in a cookie); the password form posts to ``/people/{me}/password``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflow.domain.notify.asks import KINDS
from workflow.errors import PhasegateError
from workflow.server.auth import engine_of
from workflow.server.web import pages
from workflow.server.web.actions import Form, see, text
from workflow.server.web.flash import remember
from workflow.server.web.render import page
from workflow.server.web.session import viewer

router = APIRouter()
HERE = "/settings"
# What each kind of notification e-mail is about (domain/notify/asks.py's KINDS), for its checkbox.
KIND_WORDS = {
    "task": "a task becomes mine",
    "sign": "a gate waits for my signature",
    "ready": "a project I lead can advance",
    "rejected": "a rejection sends a project back to me",
    "remind": "a reminder of a signature I still owe",
    "escalate": "an escalation of a signature others owe",
    "overdue": "a phase I have work in is past its due date",
    "changed": "a new version of a deliverable voids my signature",
}


@router.get("/settings", response_class=HTMLResponse)
def settings(request: Request) -> HTMLResponse:
    me, engine = viewer(request), engine_of(request)
    refused: PhasegateError | None = None
    chosen: list[str] | None = None
    try:
        chosen = engine.notifications(reader=me).email_kinds
    except PhasegateError as exc:  # no account (a person the SSO proxy names): nothing to choose
        refused = exc
    tokens = [t for t in engine.tokens(reader=me) if not t.revoked_at]
    mine = engine.delegations(reader=me, current=True)
    return page(request, "settings.html", kinds=[(k, KIND_WORDS.get(k, k)) for k in KINDS],
                chosen=set(KINDS) if chosen is None else set(chosen), refused=refused,
                tokens=len(tokens), given=[d for d in mine if d.person == me.person],
                received=[d for d in mine if d.to == me.person])


@router.get("/me/settings")
def settings_address() -> RedirectResponse:
    return RedirectResponse(HERE, status_code=303)


@router.post("/settings/email")
def choose_email(request: Request, form: Form) -> Response:
    """The kinds ticked (one checkbox each: ``kind-task`` …); every kind ticked is "all" (kinds added
    later included), none is "none"."""
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = "notify.email"
    ticked = [k for k in KINDS if form.get(f"kind-{k}")]
    choice: str | list[str] = "all" if len(ticked) == len(KINDS) else ticked or "none"
    try:
        engine_of(request).set_notifications(me.person, choice, actor=me)
    except PhasegateError as exc:
        return remember(request, see(HERE), error=exc)
    said = ("You get every kind of notification e-mail." if choice == "all"
            else "You get no notification e-mails." if choice == "none"
            else "You get e-mails when " + "; ".join(KIND_WORDS[k] for k in ticked) + ".")
    return remember(request, see(HERE), notice=said)


@router.post("/settings/calendar-key")
def new_calendar_link(request: Request, form: Form) -> Response:
    """A new secret link for my calendar feed (``POST /me/calendar-key``): the old one stops working."""
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = "calendar.key"
    try:
        secret = engine_of(request).new_calendar_key(actor=me)
    except PhasegateError as exc:
        return remember(request, see(HERE), error=exc)
    link = str(request.url_for("my_calendar").include_query_params(key=secret))
    return remember(request, see(HERE), link=link,
                    notice="Your calendar feed has a new link: the old link no longer works. Copy the new "
                           "one into your calendar application now; it is shown this once.")


# -- my delegations (issue 26: engine/delegations.py) --------------------------------------------------


@router.post("/settings/delegations")
def delegate(request: Request, form: Form) -> Response:
    """I hand my roles to someone while I am away (every role and project unless narrowed)."""
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = "delegate"
    try:
        made = engine_of(request).delegate(
            me.person, text(form, "to") or "", text(form, "from") or "", text(form, "until") or "", actor=me,
            roles=text(form, "roles"), project=text(form, "project"), reason=text(form, "reason"))
    except PhasegateError as exc:
        return remember(request, see(HERE + "#delegations"), error=exc)
    said = f"{made.to} acts for you from {made.starts_on} to {made.until} (delegation {made.id})."
    return remember(request, see(HERE + "#delegations"), notice=said)


@router.post("/settings/delegations/{ident}/end")
def end_delegation(request: Request, ident: str, form: Form) -> Response:
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = "delegate.end"
    try:
        engine_of(request).end_delegation(ident, actor=me)
    except PhasegateError as exc:
        return remember(request, see(HERE + "#delegations"), error=exc)
    return remember(request, see(HERE + "#delegations"), notice=f"Delegation {ident} ended.")


# -- my tokens (their own page: a new token's secret is shown on the form's answer, never in a cookie) --


@router.post("/me/tokens", response_class=HTMLResponse)
def create_token(request: Request, form: Form) -> Response:
    """The new token is on this one answer (never stored, never shown again; the page is not cached)."""
    me = viewer(request, csrf=form.get("csrf"))
    request.state.action = "token.create"
    try:
        info, secret = engine_of(request).create_token(
            actor=me, name=text(form, "name"), expires_in=text(form, "expires_in"))
    except PhasegateError as exc:
        return remember(request, see("/me/tokens"), error=exc)
    # the new token's secret is on this one answer, never stored (so not in a redirect's cookie either)
    return pages.tokens_page(request, me, new=(info, secret), status=201)


@router.post("/me/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, token_id: str, form: Form) -> Response:
    me = viewer(request, csrf=form.get("csrf"))
    try:
        engine_of(request).revoke_token(token_id, actor=me)
    except PhasegateError as exc:
        return remember(request, see("/me/tokens"), error=exc)
    return see("/me/tokens")

