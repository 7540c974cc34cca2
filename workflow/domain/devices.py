"""Device cookies: a browser someone signed in with, recognised the next time they sign in.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies": after a successful sign-in
the browser gets a cookie ``NONCE.LOGIN.EXPIRES.SIGNATURE``, the signature an HMAC-SHA256
of the rest under a key only the server has. Signing in again as the same login with that
cookie counts failures against the cookie's nonce alone (its own small budget), not against
the account, so guesses at the account from anywhere else never lock its owner's browsers
out; a cookie that is tampered with, expired, or made for another login is no cookie at all.

One cookie per login (its name derived from the login, without showing it), so a browser
shared by two people keeps both known. Pure: the key and the clock are given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

COOKIE_PREFIX = "phasegate_device_"
_NONCE = re.compile(r"[0-9a-f]{32}")
_SECONDS = re.compile(r"[0-9]{1,12}")


def cookie_name(login: str) -> str:
    """The cookie that holds ``login``'s device cookie (a digest of the login: names are not shown)."""
    return COOKIE_PREFIX + hashlib.sha256(login.encode("utf-8")).hexdigest()[:16]


def issue(key: bytes, login: str, *, now: int, lifetime: int) -> str:
    """A new device cookie for ``login`` (a fresh nonce: each sign-in renews it)."""
    who = base64.urlsafe_b64encode(login.encode("utf-8")).decode("ascii").rstrip("=")
    body = f"{secrets.token_hex(16)}.{who}.{now + lifetime}"
    return f"{body}.{_signature(key, body)}"


def nonce_of(key: bytes, value: str | None, login: str, *, now: int) -> str | None:
    """The nonce of ``value`` when it is a device cookie this key signed for ``login`` and it has
    not expired; else None (it then counts for nothing)."""
    if not value or len(value) > 400:
        return None
    parts = value.split(".")
    if len(parts) != 4:
        return None
    nonce, who, expires, signature = parts
    if not hmac.compare_digest(signature.encode("ascii", "replace"),
                               _signature(key, f"{nonce}.{who}.{expires}").encode("ascii")):
        return None
    try:
        owner = base64.urlsafe_b64decode(who + "=" * (-len(who) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if owner != login or not _NONCE.fullmatch(nonce):
        return None
    if not _SECONDS.fullmatch(expires) or int(expires) <= now:
        return None
    return nonce


def _signature(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
