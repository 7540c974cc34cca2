"""Who is looking at a page: the session (or proxy) identity, and the CSRF token of a form.

A page for someone not signed in redirects to the sign-in page (which comes back here
afterwards); a form's POST must carry the session's CSRF token in its ``csrf`` field.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from workflow.domain.identity import Identity
from workflow.errors import Unauthenticated
from workflow.server.auth import identify, identify_before_body


class SignInFirst(Exception):
    """Raised by a page for an anonymous visitor; answered with a redirect to /signin."""

    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


def viewer(request: Request, *, csrf: str | None = None) -> Identity:
    """The person looking at (or posting) this page; else :class:`SignInFirst`."""
    try:
        identity = identify(request, csrf_from=csrf)
    except Unauthenticated:
        identity = None
    if identity is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(back if request.method == "GET" else "/")
    return identity


def signed_in(request: Request) -> None:
    """Before a form's body is read: :class:`SignInFirst` unless the request's credential names someone.

    The form's CSRF token is in the body, so it is checked after (:func:`viewer` with ``csrf``).
    """
    try:
        identity = identify_before_body(request)
    except Unauthenticated:
        identity = None
    if identity is None:
        raise SignInFirst("/")


def to_sign_in(request: Request, exc: Exception) -> Response:
    """To the sign-in page (htmx, polling a page whose session ended, is told to go there whole)."""
    assert isinstance(exc, SignInFirst)
    target = f"/signin?next={quote(exc.back_to, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path on this site: a sign-in never redirects elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\\\" in value:
        return "/"
    return value
