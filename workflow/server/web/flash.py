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
# The cookie's name and value together stay under this: a browser drops a cookie past about 4 KB
# without a word (RFC 6265 asks it to keep 4096 bytes), and the sentence would be lost. What is said
# is cut to fit (:func:`_fitted`), each cut marked with an ellipsis; the sentence itself is never
# dropped. Not a limit on what anyone sends: on what the server says back through one cookie.
COOKIE_BYTES = 4000
_SIGNED = len(COOKIE) + len("=.") + 64  # the name, "=", ".", the HMAC's hex digest
# The longest a sentence and a blocker are before a cut; then shorter, until the cookie fits.
TEXT_STEPS = (3000, 1500, 800, 400, 200, 100)
BLOCKER_MOST = 200
BLOCKERS_MOST = 10


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
        said["error"] = str(error)
        said["blockers"] = [str(b) for b in (getattr(error, "blockers", None) or [])]
    if notice is not None:
        said["notice"] = notice
    if undo is not None:
        said["undo"] = undo
    if link is not None:
        said["link"] = link  # never cut (a cut address leads nowhere): the server makes it, short
    if draft:
        said["draft"] = {k: v[:BLOCKER_MOST] for k, v in draft.items() if isinstance(v, str)}
    response.set_cookie(COOKIE, encode(said, key), max_age=SECONDS, path="/",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def encode(said: dict[str, Any], key: str) -> str:
    """The cookie's value for ``said``, cut to fit in :data:`COOKIE_BYTES` with its name: the
    JSON in base64, a dot, its HMAC under ``key``."""
    payload = _payload(_fitted(said))
    return f"{payload.decode()}.{_mac(key, payload)}"


def _payload(said: dict[str, Any]) -> bytes:
    # UTF-8 rather than JSON's \u escapes: a letter of most scripts costs two bytes, not six
    return base64.urlsafe_b64encode(json.dumps(said, ensure_ascii=False).encode())


def _fits(said: dict[str, Any]) -> bool:
    return len(_payload(said)) + _SIGNED < COOKIE_BYTES


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"


def _fitted(said: dict[str, Any]) -> dict[str, Any]:
    """``said`` as it fits the cookie: the sentences and blockers shorter and shorter (each cut ends
    in "…"), then the last blockers left out (the last one kept says how many), then the refused
    form's fields (it comes back empty); the sentence itself is never left out."""
    given = list(said.get("blockers") or [])
    fitted = dict(said)
    for most in TEXT_STEPS:
        for name in ("error", "notice"):
            if fitted.get(name):
                fitted[name] = _cut(said[name], most)
        if given:
            kept = [_cut(b, min(most, BLOCKER_MOST)) for b in given[:BLOCKERS_MOST]]
            if len(given) > BLOCKERS_MOST:
                kept[-1] = f"… and {len(given) - BLOCKERS_MOST + 1} more"
            fitted["blockers"] = kept
        if _fits(fitted):
            return fitted
    while fitted.get("blockers") and not _fits(fitted):
        kept = fitted["blockers"][:-2]
        fitted["blockers"] = [*kept, f"… and {len(given) - len(kept)} more"] if kept else []
    if not _fits(fitted):
        fitted.pop("draft", None)
    return fitted


def recall(request: Request) -> Said | None:
    """The sentence the last redirect left for this session (None if none, or not signed by it)."""
    value, key = request.cookies.get(COOKIE), _key(request)
    return decode(value, key) if value and key else None


def decode(value: str, key: str) -> Said | None:
    """What :func:`encode` wrote, if ``key`` signed it."""
    if "." not in value:
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
