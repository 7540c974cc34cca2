"""Rendering a page: one Jinja2 environment (autoescape everywhere), the templates in the package."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from workflow.domain import inputs
from workflow.domain.identity import Identity
from workflow.domain.wording import all_chains, count, describe, signature_words
from workflow.server.auth import engine_of
from workflow.server.web import flash
from workflow.server.web.views import nav_hidden, strip, waiting_on

FOLDER = Path(__file__).parent
# How a person proved who they were, for each way an event records (domain/vocabulary.py's AUTHS).
AUTH_WORDS = {
    "password": "signed in with their password",
    "token": "an API token",
    "proxy": "the single-sign-on proxy's header",
    "asserted": "the command line on the database, no server: named, not proven",
    "system": "phasegate's own clock",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(FOLDER / "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.filters["when"] = when
    env.globals["describe"] = lambda action, data: describe(action, data, day=when)
    env.globals["count"] = count
    env.globals["all_chains"] = all_chains
    env.globals["signature_words"] = signature_words
    env.globals["waiting_on"] = waiting_on
    env.globals["strip"] = strip
    env.globals["auth_words"] = AUTH_WORDS
    env.globals["fresh_id"] = lambda: "web-" + secrets.token_urlsafe(12)
    # the forms' maxlength: the longest values the engine takes (domain/inputs.py)
    env.globals["most"] = {"code": inputs.CODE_MAX, "person": inputs.PERSON_MAX, "line": inputs.LINE_MAX,
                           "text": inputs.TEXT_MAX}
    return env


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def when(at: str | None) -> str:
    """The one way the pages write a time: "8 Dec 2026 10:00 UTC" (a stored time, to the minute),
    or "8 Dec 2026" (a day: a due date). The full value goes in the ``<time>`` element's datetime
    attribute; a value that is neither is shown as it is."""
    if not at:
        return ""
    if len(at) < 10 or at[4] != "-" or at[7] != "-" or not (at[:4] + at[5:7] + at[8:10]).isdigit():
        return at
    year, month, day = int(at[:4]), int(at[5:7]), int(at[8:10])
    if not 1 <= month <= 12:
        return at
    shown = f"{day} {MONTHS[month - 1]} {year}"
    clock = at[11:16]
    if len(at) > 10 and len(clock) == 5 and clock[2] == ":":
        shown += f" {clock} UTC"
    return shown


def nav_of(request: Request, identity: Identity, status: int) -> frozenset[str]:
    """The navigation's addresses hidden from ``identity``. The error page of a database that cannot
    be used (503: every connection in use, or none answers) names only what needs no grant: reading
    the grants would fail the same way, and the error page with it (a remembered token, on
    PostgreSQL, gets that far without a connection: engine/people/known.py)."""
    if status == 503:
        return nav_hidden(frozenset())
    return nav_hidden(engine_of(request).grants_of(identity.person))


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` drawn for the signed-in person, with what the last form's redirect left to say
    (:mod:`workflow.server.web.flash`: shown once, then forgotten)."""
    identity: Identity | None = getattr(request.state, "identity", None)
    # a page drawn for the person (htmx's swap of a form's redirect too), not the live poll's refresh
    drawn = request.method == "GET" and not request.url.path.endswith("/live")
    said = flash.recall(request) if drawn else None
    if said is not None and said.error and context.get("error") is None:
        context["error"] = said
        if said.draft and context.get("draft") == {}:
            context["draft"] = said.draft
    hidden = frozenset() if identity is None else nav_of(request, identity, status)
    html = environment().get_template(template).render(
        request=request, me=identity, csrf=getattr(request.state, "csrf", ""), path=request.url.path,
        said=said, nav_hidden=hidden, **context)
    response = HTMLResponse(html, status_code=status)
    if drawn and flash.COOKIE in request.cookies:
        response.delete_cookie(flash.COOKIE, path="/")
    return response
