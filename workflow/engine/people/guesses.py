"""Guessing at links: addresses that ask for client links that do not exist are slowed down.

A signing link's secret (``/link/SECRET``) is 32 random bytes, so guessing one is hopeless; the
server still answers every unknown, expired, revoked or used link with the same plain page, and
counts each such answer against the client address (the real one: the server's
``auth.client_address``) exactly as failed sign-ins are counted (:mod:`workflow.engine.people.signin`,
the same table, the same window and doubling wait, under a key of its own): from the fifth miss in
a window, each further request from that address waits twice as long as the one before, up to
15 minutes. A link that works costs nothing and clears nothing (a guesser cannot reset its count
with its own link).
"""

from __future__ import annotations

from workflow.engine.people import signin
from workflow.errors import Throttled
from workflow.storage.database import utcnow
from workflow.storage.store import Store

KEY_PREFIX = "link-guess:"
SLOWED = "too many links that cannot be used were asked for from this address; try again in {} s"


def key_of(address: str) -> str:
    """The throttle's key for ``address`` (an IPv6 address counts as its /64)."""
    return KEY_PREFIX + signin.address_key(address)


def link_guesses_waiting(store: Store, address: str) -> None:
    """:class:`Throttled` when ``address`` must wait before asking for another link."""
    now = utcnow()
    try:
        store.read(lambda tx: signin._not_waiting(tx, [key_of(address)], now))
    except Throttled as exc:
        raise Throttled(SLOWED.format(exc.retry_after), retry_after=exc.retry_after) from None


def link_guess_missed(store: Store, address: str) -> None:
    """Count one link from ``address`` that could not be used (:class:`Throttled` if it must wait)."""
    try:
        store.write(lambda tx: signin._claim(tx, [key_of(address)], utcnow(), None))
    except Throttled as exc:
        raise Throttled(SLOWED.format(exc.retry_after), retry_after=exc.retry_after) from None
