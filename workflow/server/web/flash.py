"""A sentence carried across a form's redirect (POST, 303, GET): the refusal of a form, or what it did.

A form's answer is always a redirect, refusals included, so Reload re-reads a page instead of
posting again (or meeting 405 on the form's address). The sentence rides one short-lived cookie,
signed with the person's own session cookie (HMAC; :func:`_key` for the SSO proxy's people): a
page shows only what this server said to this person, as escaped text (never HTML), once: the
page that shows it deletes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response

from workflow.errors import PhasegateError
from workflow.server.auth import SESSION_COOKIE

COOKIE = "phasegate_flash"
SECONDS = 60  # long enough for the redirect, not for a later visit
MOST = 3000  # bytes of sentence kept (a cookie holds about 4 KB)


@dataclass(frozen=True)
class Said:
    """What the redirected page shows: a refusal (``error``, drawn as the alert) or a notice
    (``role="status"``), with an undo form's fields where the move can be undone."""

    error: str | None = None
    blockers: list[str] = field(default_factory=list)
    notice: str | None = None
    undo: dict[str, str] | None = None
    draft: dict[str, str] | None = None  # a refused form's short fields, to fill it again
    link: str | None = None  # a new calendar feed's address, shown on the page it lands on, once

    # the alert macro reads an error's sentence, problems and blockers
    problems: None = None

    def __str__(self) -> str:
        return self.error or ""


def _mac(key: str, payload: bytes) -> str:
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def _key(request: Request) -> str | None:
    """What signs the sentence: the session cookie (a secret of this browser's); for a person the
    SSO proxy names (no session), their login, which keeps a sentence to the person it was said to
    (a cookie planted from a sibling domain could show them a line of text, never markup)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return session
    identity = getattr(request.state, "identity", None)
    return f"proxy:{identity.person}" if identity is not None else None


def remember(request: Request, response: Response, *, error: PhasegateError | None = None,
             notice: str | None = None, undo: dict[str, str] | None = None,
             draft: dict[str, str] | None = None, link: str | None = None) -> Response:
    """``response`` (a redirect) carrying the sentence to the next page this session draws."""
    key = _key(request)
    if not key:
        return response
    said: dict[str, Any] = {}
    if error is not None:
        said["error"] = str(error)[:MOST]
        said["blockers"] = [str(b)[:200] for b in (getattr(error, "blockers", None) or [])][:10]
    if notice is not None:
        said["notice"] = notice[:MOST]
    if undo is not None:
        said["undo"] = undo
    if link is not None:
        said["link"] = link[:MOST]
    if draft:
        said["draft"] = {k: v[:200] for k, v in draft.items() if isinstance(v, str)}
    payload = base64.urlsafe_b64encode(json.dumps(said).encode())
    response.set_cookie(COOKIE, f"{payload.decode()}.{_mac(key, payload)}", max_age=SECONDS, path="/",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def recall(request: Request) -> Said | None:
    """The sentence the last redirect left for this session (None if none, or not signed by it)."""
    value, key = request.cookies.get(COOKIE), _key(request)
    if not value or not key or "." not in value:
        return None
    payload, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(key, payload.encode())):
        return None
    try:
        said = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return Said(error=said.get("error"), blockers=list(said.get("blockers") or []),
                    notice=said.get("notice"), undo=said.get("undo"), draft=said.get("draft"),
                    link=said.get("link"))
    except (ValueError, TypeError, AttributeError):
        return None
