"""How people prove who they are to the server: API tokens, passwords, sessions, a trusted proxy.

Each function turns a credential into an :class:`~workflow.domain.identity.Identity`
or raises :class:`~workflow.errors.Unauthenticated` (or :class:`Throttled`); the
server's ``auth.py`` (and its lean command path) the only caller, and the only place identity
is decided. Every check reads the database, so a disabled account or a revoked token is refused
on its very next request; on PostgreSQL a verified token is remembered by the worker
(:mod:`workflow.engine.people.known`) until a revoke, a disable or a password change anywhere
says otherwise.

Failed sign-ins are counted as OWASP's "Blocking Brute Force Attacks" and its device
cookies have it: per login name and per client address (the real one: see the server's
``auth.client_address``), or, from a browser that signed in as this login before (its
signed device cookie, :mod:`workflow.domain.devices`), per that cookie alone, so guesses
at an account from anywhere else never lock its owner's browsers out. From the fifth
failure under a key in a window each further attempt must wait twice as long as the one
before (up to 15 minutes; ``workflow/domain/limits.py``). A name that does not exist is
counted under its own key and answered exactly like one that does, after the same argon2
work, so failures reveal nothing and throttle nobody real. The argon2 checks in flight
are bounded per process (:mod:`workflow.engine.people.passwords`).
"""

from __future__ import annotations

import ipaddress
import secrets
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from workflow.domain import credentials, devices, inputs, limits
from workflow.domain.identity import Identity
from workflow.engine.people import passwords
from workflow.errors import NotPermitted, Throttled, Unauthenticated, UsageError
from workflow.storage import people as rows
from workflow.storage.chains import append_system_event
from workflow.storage.database import utcnow
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx, WriteTx

SESSION_SECONDS = 12 * 3600
FREE_FAILURES = int(limits.SIGN_IN_FREE_FAILURES.default)  # failures in a window before sign-ins are slowed
DEVICE_COOKIE = devices.COOKIE_PREFIX
TOUCH_EVERY_SECONDS = 60  # a token's last use is written at most once a minute
REFUSED = "the login name or the password is wrong"


def identify_token(store: Store, secret: str) -> Identity:
    """The identity a bearer token proves (one index probe; a write at most once a minute)."""
    return verify_token(store, secret)[0]


def verify_token(store: Store, secret: str) -> tuple[Identity, str | None]:
    """:func:`identify_token`, and when the token expires (None: never)."""
    if not isinstance(secret, str) or not secret.startswith(credentials.TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthenticated("that is not a phasegate API token")
    digest = credentials.secret_hash(secret)
    now = utcnow()
    row = store.read(lambda tx: rows.token_by_secret(tx, digest))
    if row is None or not credentials.same(row.secret_hash, digest):
        raise Unauthenticated("the token is not valid")
    if not row.active:  # first: the reason its tokens were revoked
        raise Unauthenticated(f"{row.person}'s account is disabled")
    if row.revoked_at is not None:
        raise Unauthenticated(f"token {row.id} was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated(f"token {row.id} expired at {row.expires_at}")
    if row.last_used_at is None or inputs.later(row.last_used_at, TOUCH_EVERY_SECONDS) <= now:
        store.write(lambda tx: rows.change_token(tx, row.id, last_used_at=now))
    return Identity(row.person, "token", row.id), row.expires_at


def identify_proxy(store: Store, login: str) -> Identity:
    """The identity a trusted single-sign-on proxy vouches for: it must have an active account."""
    try:
        person = inputs.person(login.strip().lower(), "the proxy's login name")
    except UsageError as exc:
        raise Unauthenticated(exc.message) from None
    row = store.read(lambda tx: rows.person_row(tx, person))
    if row is None:
        raise Unauthenticated(
            f"{person} has no account; an admin adds one with `phasegate user add {person}`"
        )
    if not row.active:
        raise Unauthenticated(f"{person}'s account is disabled")
    return Identity(person, "proxy")


class SignedIn(NamedTuple):
    """A password sign-in's identity, and the device cookie (name, value) its browser keeps."""

    identity: Identity
    device: tuple[str, str]


def sign_in(
    store: Store, login: str, password: str, *, address: str, devices_sent: Mapping[str, str] | None = None
) -> SignedIn:
    """A password sign-in: the identity, or one refusal whatever was wrong (slowed after failures).

    ``address``: the client's real address; ``devices_sent``: the request's cookies, among which
    the browser's device cookie for this login, if it signed in as this login before. With a
    valid one, failures count against that cookie alone; without, against the account and the
    address. Every attempt counts as a failure before its password is checked, and is taken back
    when it turns out right, so simultaneous guesses under one key cost at most the budget's
    worth of argon2 checks. A name that does not exist is counted under its own key, checked
    against a dummy hash and answered exactly like a wrong password for one that does.
    """
    person = (login or "").strip().lower()[:200]
    if not person or not password:  # no guess at anything (a stray POST): nothing to count or check
        raise Unauthenticated(REFUSED)
    real = inputs.PERSON_RE.fullmatch(person) is not None
    cookie = (devices_sent or {}).get(devices.cookie_name(person)) if real else None
    nonce = _device_nonce(store, cookie, person)
    # A name that cannot be a login may hold anything (a NUL): it is counted under its digest.
    account = f"login:{person}" if real else f"login#{credentials.secret_hash(person)}"
    keys = [f"device:{nonce}"] if nonce else [account, f"address:{address_key(address)}"]
    store.read(lambda tx: _not_waiting(tx, keys, utcnow()))
    with passwords.slot():
        row = store.write(lambda tx: _claim(tx, keys, utcnow(), person if real else None))
        ok, rehash = passwords.run(credentials.verify_password,
                                   None if row is None else row.password_hash, password or "")
        if not ok or row is None or not row.active:
            raise Unauthenticated(REFUSED)  # counted already
        digest = passwords.run(credentials.hash_password, password) if rehash else None

    identity = Identity(person, "password")

    def succeeded(tx: WriteTx) -> bytes:
        if digest is not None:
            tx.dialect.lock_system(tx)  # first, as every write to the system chain takes it
        rows.forget_failures(tx, keys[0])  # this browser's own count, or the account's: its owner knew it
        if not nonce:
            rows.uncount_failure(tx, keys[1])  # the address keeps the guessers' failures, not this one
        if digest is not None:  # argon2's parameters changed since this hash was made
            rows.change_person(tx, person, utcnow(), password_hash=digest)
            # On the record, as every password hash is (audit verify compares its fingerprint).
            fingerprint = credentials.password_fingerprint(digest)
            append_system_event(tx, identity, "user.password",
                                {"person": person, "password_sha256": fingerprint, "rehashed": True})
        return _key_in(tx, create=True) or b""

    key = store.write(succeeded)
    _KEYS[store] = key
    lifetime = int(limits.DEVICE_COOKIE_SECONDS.default)
    device = devices.issue(key, person, now=int(time.time()), lifetime=lifetime)
    return SignedIn(identity, (devices.cookie_name(person), device))


def confirm_password(store: Store, person: str, password: str | None) -> None:
    """The password of ``person``, who is signed in and changing it, checked again: refused when
    wrong (and slowed, as sign-ins are, under a key of its own: a stolen session or token cannot
    guess the password behind it at argon2's speed)."""
    key = f"current:{person}"
    store.read(lambda tx: _not_waiting(tx, [key], utcnow()))
    with passwords.slot():
        row = store.write(lambda tx: _claim(tx, [key], utcnow(), person))
        ok, _rehash = passwords.run(credentials.verify_password,
                                    None if row is None else row.password_hash, password or "")
    if not ok:
        raise NotPermitted("that is not your current password; nothing was changed")
    store.write(lambda tx: rows.forget_failures(tx, key))


def address_key(address: str) -> str:
    """The throttle's key for a client address: the address, or for IPv6 its /64 (one machine's
    share of a network, which it can change at will)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:200]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def open_session(store: Store, identity: Identity) -> tuple[str, str]:
    """(session id for the cookie, CSRF token) of a new server-side session."""
    session_id, csrf = credentials.new_secret(), credentials.new_secret()
    now = utcnow()
    store.write(
        lambda tx: rows.add_session(
            tx,
            id_hash=credentials.secret_hash(session_id),
            person=identity.person,
            csrf=csrf,
            auth=identity.auth,
            created_at=now,
            expires_at=inputs.later(now, SESSION_SECONDS),
            revoked_at=None,
        )
    )
    return session_id, csrf


def identify_session(store: Store, session_id: str) -> tuple[Identity, str]:
    """(identity, CSRF token) of a live session; a signed-out, expired or disabled one is refused."""
    if not isinstance(session_id, str) or len(session_id) > 200:
        raise Unauthenticated("not signed in")
    row = store.read(lambda tx: rows.session_by_id(tx, credentials.secret_hash(session_id)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or not row.active:
        raise Unauthenticated("not signed in, or the session has ended: sign in again")
    return Identity(row.person, row.auth, session=row.id_hash), row.csrf


def close_session(store: Store, session_id: str) -> None:
    """Sign out: the session ends on the server (its cookie is worthless from now on)."""
    digest = credentials.secret_hash(session_id)
    store.write(lambda tx: rows.end_sessions(tx, utcnow(), digest=digest))


_KEYS: weakref.WeakKeyDictionary[Store, bytes] = weakref.WeakKeyDictionary()  # the device key, once read
DEVICE_KEY = "device-cookies"


def _device_nonce(store: Store, cookie: str | None, person: str) -> str | None:
    """The nonce of the browser's device cookie for ``person`` when it is one this server signed."""
    if not cookie:
        return None
    key = _KEYS.get(store)
    if key is None:
        key = store.read(lambda tx: _key_in(tx, create=False))
        if key is None:  # no device cookie was ever given: this one is made up
            return None
        _KEYS[store] = key
    return devices.nonce_of(key, cookie, person, now=int(time.time()))


def _key_in(tx: ReadTx, *, create: bool) -> bytes | None:
    """The device cookies' HMAC key; made on first use when ``create`` (two servers making it at
    once: the second insert fails on the primary key and its transaction runs again, reading it)."""
    found = rows.server_key(tx, DEVICE_KEY)
    if found is None and create:
        assert isinstance(tx, WriteTx)
        found = secrets.token_hex(32)
        rows.add_server_key(tx, DEVICE_KEY, found, utcnow())
    return None if found is None else bytes.fromhex(found)


def _claim(tx: WriteTx, keys: list[str], now: str, person: str | None) -> Any:
    """Count one failure under every key, unless one of them must wait (Throttled, nothing
    counted); ``person``'s account row (None: no such name). The keys' rows are locked in one
    order, so the count a concurrent attempt reads includes this one."""
    window = float(limits.SIGN_IN_WINDOW.default)
    if secrets.randbelow(64) == 0:  # now and then, the rows that slow nobody any more
        stale = max(window, float(limits.SIGN_IN_MAX_WAIT.default))
        rows.forget_stale_failures(tx, inputs.later(now, -stale))
    found = {key: rows.failures_locked(tx, key) for key in sorted(set(keys))}
    _refuse_if_waiting(found.values(), now)
    for key, row in found.items():
        restart = row is not None and inputs.later(row.first_at, window) <= now
        rows.count_failure(tx, key, now, restart=restart)
    return None if person is None else rows.person_row(tx, person)


def _not_waiting(tx: ReadTx, keys: list[str], now: str) -> None:
    """Throttled when a key must wait: read before a password-check slot is taken, so guesses that
    are refused anyway cost no slot (:func:`_claim` decides again, under its locks)."""
    _refuse_if_waiting([rows.failures(tx, key) for key in keys], now)


def _refuse_if_waiting(found: Iterable[Any], now: str) -> None:
    window = float(limits.SIGN_IN_WINDOW.default)
    free = int(limits.SIGN_IN_FREE_FAILURES.default)
    for row in found:
        if row is None or inputs.later(row.first_at, window) <= now or row.failures <= free:
            continue
        wait = min(float(limits.SIGN_IN_MAX_WAIT.default), 2.0 ** (row.failures - free))
        until = inputs.later(row.last_at, wait)
        if until > now:
            seconds = _seconds_until(now, until)
            raise Throttled(f"too many failed sign-ins; try again in {seconds} s", retry_after=seconds)


def _seconds_until(now: str, then: str) -> int:
    from datetime import datetime

    def moment(at: str) -> datetime:
        return datetime.fromisoformat(at.replace("Z", "+00:00"))

    return max(1, int((moment(then) - moment(now)).total_seconds() + 0.999))
