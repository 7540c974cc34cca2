"""The client's signing page, ``/link/{secret}``: no account, no sign-in form, the link is the way in.

What the page shows and what it may do is the Engine's (``Engine.link``: the project, the gate and
its meaning, every deliverable with its version and sha256, the moves the link may make now); the
decision counts only with the six-digit code the Engine e-mails to the invited address
(``link_send_code``, ``link_decide``). Every form is POST, then a redirect (303) to a GET.

Safety, each point tested in ``tests/server/web/test_web_link_*.py``:

* A link that cannot be used (unknown, expired, revoked, used for a decision) gets one plain page,
  410, "this link can no longer be used", with nothing of any project. Each such answer is counted
  against the client address (:mod:`workflow.engine.people.guesses`, like failed sign-ins): from the
  fifth in a window the address waits (429, ``Retry-After``), doubling, up to 15 minutes.
* CSRF, for a visitor without a session: a signed double-submit token. The first page sets a random
  cookie (``phasegate_link``, HttpOnly, SameSite=Strict, path ``/link/``); each form carries
  HMAC-SHA256(link secret, cookie) and a POST must carry the token of its own cookie and link. A
  cookie planted from a sibling domain is no help to a forger who has not got the link, and one who
  has it still lacks the e-mailed code. Browsers' ``Sec-Fetch-Site``/``Origin`` are checked too
  (:func:`workflow.server.auth.refuse_cross_site`).
* The decision is idempotent: its form carries a request id drawn with the page, given to the
  Engine as ``request_id`` (a double-click or a retry is one event).
* Every ``/link`` answer, downloads included, has the app's CSP and headers plus
  ``Referrer-Policy: no-referrer`` (the secret never leaves in a Referer) and ``Cache-Control:
  no-store`` (:class:`workflow.server.app.SecurityHeaders`); the access log names the route's
  template, ``/link/{secret}``, never the secret (:func:`workflow.server.observe.route_of`).
* The client address (behind a ``--trusted-proxy``, the one it forwarded) and the user agent go to
  the Engine as the signature's evidence.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflow.errors import LinkUnusable, NotPermitted, PhasegateError, Throttled, UsageError
from workflow.server.api.deliverables import IMAGES, file_response
from workflow.server.auth import client_address, engine_of, refuse_cross_site
from workflow.server.web import flash
from workflow.server.web.render import environment

router = APIRouter()
COOKIE = "phasegate_link"
PATH = "/link/"
FIELDS_MOST = 12  # csrf, code, decision, reason, seen, request_id: a few more is a mistake
SECRET_MOST = 200  # a link's secret is 43 characters; anything far longer is not one
AGENT_MOST = 400  # the user agent kept as evidence
GONE = "this link can no longer be used"
# What a page says after a form's redirect (the query's ``said``): fixed sentences, never the request's.
NOTICES = {
    "code": "A code is on its way to your e-mail address; it works for 10 minutes. Type it below.",
    "task": "The task is marked done; the team has been told.",
}
DONE = {  # after a decision, on a page of its own (the link is used: its page is gone)
    "approve": "Your approval is recorded. Thank you: you can close this page.",
    "reject": "Your rejection and its reason are recorded; the team has been told. You can close this page.",
}


def link_path(secret: str) -> str:
    return PATH + quote(secret, safe="")


def _render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    base: dict[str, Any] = {"me": None, "csrf": "", "path": "", "said": None, "nav_hidden": frozenset()}
    html = environment().get_template(template).render(**(base | context))
    return HTMLResponse(html, status_code=status)


def gone(status: int = 410, sentence: str = GONE, retry_after: int | None = None) -> HTMLResponse:
    """The plain page of a link that cannot be used (or of an address that must wait): no project."""
    answer = _render("link_gone.html", status=status, sentence=sentence)
    if retry_after is not None:
        answer.headers["Retry-After"] = str(retry_after)
    return answer


def _token(secret: str, cookie: str) -> str:
    """The forms' CSRF token: the browser's cookie signed with the link's secret."""
    return hmac.new(secret.encode(), b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def _flash_key(secret: str) -> str:
    """What signs a refusal's sentence across the redirect: known only to who holds the link (not the
    sha256 the database keeps of it)."""
    return "link:" + hmac.new(secret.encode(), b"flash", hashlib.sha256).hexdigest()


def _evidence(request: Request) -> dict[str, str]:
    return {"ip": client_address(request), "user_agent": request.headers.get("user-agent", "")[:AGENT_MOST]}


def _unusable(request: Request) -> Response:
    """Count the miss against the address, then the plain page (or the wait, if it must wait now)."""
    try:
        engine_of(request).link_guess_missed(client_address(request))
    except Throttled as exc:
        return gone(429, str(exc), exc.retry_after)
    return gone()


def _waiting(request: Request, secret: str) -> Response | None:
    """The answer when the request need go no further: a secret that cannot be one, or an address
    that must wait."""
    try:
        engine_of(request).link_guesses_waiting(client_address(request))
    except Throttled as exc:
        return gone(429, str(exc), exc.retry_after)
    if not secret or len(secret) > SECRET_MOST:
        return _unusable(request)
    return None


def shown(view: Any, secret: str) -> dict[str, Any]:
    """The Engine's LinkView as the page draws it: each deliverable with its download (and an image's
    preview) under this link, and the digests the decision carries (``KEY=SHA256 …``)."""
    files, seen = [], []
    for d in view.deliverables:
        href = f"{link_path(secret)}/files/{quote(d['key'], safe='')}?version={d['version']}"
        preview = href + "&inline=true" if d.get("media_type") in IMAGES else None
        files.append({**d, "href": href, "preview": preview})
        if d.get("sha256"):
            seen.append(f"{d['key']}={d['sha256']}")
    may = {"approve": "approve" in view.can, "reject": "reject" in view.can}
    tasks = [t for t in view.tasks if f"done:{t['role']}" in view.can]
    return {"v": view, "files": files, "seen": " ".join(seen), "may": may, "tasks": tasks}


@router.get("/link/done", response_class=HTMLResponse)
def done(request: Request) -> Response:
    """After a decision: what was recorded, in the page's fixed words (nothing of the project)."""
    sentence = DONE.get(request.query_params.get("said", ""), "Done. You can close this page.")
    return _render("link_gone.html", title="Thank you", sentence=sentence)


@router.get("/link/{secret}", response_class=HTMLResponse)
def link_page(request: Request, secret: str) -> Response:
    """The signing page (the plain 410 page when the link cannot be used)."""
    early = _waiting(request, secret)
    if early is not None:
        return early
    try:
        view = engine_of(request).link(secret)
    except LinkUnusable:
        return _unusable(request)
    cookie = request.cookies.get(COOKIE) or secrets.token_urlsafe(32)
    said_value = request.cookies.get(flash.COOKIE)
    said = flash.decode(said_value, _flash_key(secret)) if said_value else None
    notice = NOTICES.get(request.query_params.get("said", ""))
    answer = _render("link.html", csrf=_token(secret, cookie), action=link_path(secret), error=said,
                     notice=notice, request_id="link-" + secrets.token_urlsafe(12), **shown(view, secret))
    answer.set_cookie(COOKIE, cookie, path=PATH, httponly=True, samesite="strict",
                      secure=request.url.scheme == "https")
    if said_value:
        answer.delete_cookie(flash.COOKIE, path=PATH)
    return answer


async def _form(request: Request) -> dict[str, str]:
    async with request.form(max_files=0, max_fields=FIELDS_MOST) as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


def _checked(request: Request, secret: str, form: dict[str, str]) -> None:
    """The CSRF checks of a /link form (:class:`NotPermitted` when it fails).

    Under ``Referrer-Policy: no-referrer`` a browser sends ``Origin: null`` with the page's own forms,
    so where the browser says ``Sec-Fetch-Site`` that is what is believed; the token is checked always."""
    if request.headers.get("origin") == "null":
        if request.headers.get("sec-fetch-site") not in (None, "same-origin"):
            raise NotPermitted("a form from another site cannot act here; use phasegate's own pages")
    else:
        refuse_cross_site(request)
    cookie = request.cookies.get(COOKIE, "")
    sent = form.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(sent, _token(secret, cookie)):
        raise NotPermitted("this form is from another page or another site; open the link from your e-mail "
                           "again and try once more")


def _back(request: Request, secret: str, exc: PhasegateError, anchor: str = "#h-decide") -> Response:
    """To the page, the refusal's sentence with it (a cookie signed with the link: :mod:`flash`)."""
    answer = RedirectResponse(link_path(secret) + anchor, status_code=303)
    said = {"error": str(exc)}
    answer.set_cookie(flash.COOKIE, flash.encode(said, _flash_key(secret)), max_age=flash.SECONDS, path=PATH,
                      httponly=True, samesite="strict", secure=request.url.scheme == "https")
    if isinstance(exc, Throttled):
        answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


async def _posted(request: Request, secret: str, action: Callable[[dict[str, str]], str],
                  act: Callable[[dict[str, str]], Response]) -> Response:
    """A /link form's POST: the wait for an address that guessed, the form and its CSRF checks, then
    ``act``'s answer (in a thread); a refusal goes back to the page with its sentence."""
    early = await run_in_threadpool(_waiting, request, secret)
    if early is not None:
        return early
    form = await _form(request)
    request.state.action = action(form)
    try:
        _checked(request, secret, form)
        return await run_in_threadpool(act, form)
    except LinkUnusable:
        return await run_in_threadpool(_unusable, request)
    except PhasegateError as exc:
        return _back(request, secret, exc)


@router.post("/link/{secret}/code")
async def send_code(request: Request, secret: str) -> Response:
    """E-mail a new six-digit code to the invited address (only there: nothing sent here says where)."""

    def send(form: dict[str, str]) -> Response:
        engine_of(request).link_send_code(secret, **_evidence(request))
        return RedirectResponse(link_path(secret) + "?said=code#h-decide", status_code=303)

    return await _posted(request, secret, lambda form: "link.code", send)


@router.post("/link/{secret}/decide")
async def decide(request: Request, secret: str) -> Response:
    """Approve, reject (with a reason) or mark a task done, with the e-mailed code."""

    def named(form: dict[str, str]) -> str:
        decision = form.get("decision", "")
        return "link." + (decision.split(":")[0] if decision else "decide")

    def decided(form: dict[str, str]) -> Response:
        decision = form.get("decision", "")
        if decision not in ("approve", "reject") and not decision.startswith("done:"):
            raise UsageError("choose Approve, Reject or a task's Done")
        code = form.get("code", "").strip().replace(" ", "")
        if not code:
            raise UsageError("type the six-digit code from the e-mail first (or ask for one)")
        reason = form.get("reason", "").strip() or None
        engine_of(request).link_decide(
            secret, code=code, decision=decision, reason=reason, seen=form.get("seen") or None,
            request_id=form.get("request_id") or None, **_evidence(request))
        if decision in DONE:  # the link is used: its page is gone; what was done is said on a page of its own
            return RedirectResponse(f"{PATH}done?said={decision}", status_code=303)
        return RedirectResponse(link_path(secret) + "?said=task#h-decide", status_code=303)

    return await _posted(request, secret, named, decided)


@router.get("/link/{secret}/files/{key}")
def download(request: Request, secret: str, key: str) -> Response:
    """A deliverable's bytes as the link may see them (an attachment; an image inline for the preview)."""
    early = _waiting(request, secret)
    if early is not None:
        return early
    raw = request.query_params.get("version")
    version = int(raw) if raw and raw.isdigit() and len(raw) < 10 else None
    try:
        opened = engine_of(request).link_file(secret, key, version)
    except LinkUnusable:
        return _unusable(request)
    return file_response(opened, inline=request.query_params.get("inline") == "true")
