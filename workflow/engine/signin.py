"""How people prove who they are to the server: API tokens, passwords, sessions, a trusted proxy.

Each function turns a credential into an :class:`~workflow.domain.identity.Identity`
or raises :class:`~workflow.errors.Unauthenticated` (or :class:`Throttled`); the
server's ``auth.py`` is the only caller, and the only place identity is decided. Every
check reads the database, so a disabled account or a revoked token is refused on its
very next request: nothing is cached.

Failed sign-ins are counted per login name and per client address; from the fifth
failure in a window each further attempt must wait twice as long as the one before (up
to 15 minutes). A name that does not exist is counted and answered exactly like one
that does, and costs the same argon2 work, so failures reveal nothing.
"""

from __future__ import annotations

from typing import Any

from workflow.domain import credentials, inputs
from workflow.domain.identity import Identity
from workflow.errors import Throttled, Unauthenticated, UsageError
from workflow.storage import people as rows
from workflow.storage.database import utcnow
from workflow.storage.store import Store
from workflow.storage.tx import ReadTx, WriteTx

SESSION_SECONDS = 12 * 3600
FREE_FAILURES = 4  # failures in a window before sign-ins are slowed
WINDOW_SECONDS = 15 * 60
MAX_WAIT_SECONDS = 15 * 60
TOUCH_EVERY_SECONDS = 60  # a token's last use is written at most once a minute
REFUSED = "the login name or the password is wrong"


def identify_token(store: Store, secret: str) -> Identity:
    """The identity a bearer token proves (one index probe; a write at most once a minute)."""
    if not isinstance(secret, str) or not secret.startswith(credentials.TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthenticated("that is not a phasegate API token")
    digest = credentials.secret_hash(secret)
    now = utcnow()
    row = store.read(lambda tx: rows.token_by_secret(tx, digest))
    if row is None or not credentials.same(row.secret_hash, digest):
        raise Unauthenticated("the token is not valid")
    if row.revoked_at is not None:
        raise Unauthenticated(f"token {row.id} was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated(f"token {row.id} expired at {row.expires_at}")
    if not row.active:
        raise Unauthenticated(f"{row.person}'s account is disabled")
    if row.last_used_at is None or inputs.later(row.last_used_at, TOUCH_EVERY_SECONDS) <= now:
        store.write(lambda tx: rows.change_token(tx, row.id, last_used_at=now))
    return Identity(row.person, "token", row.id)


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


def sign_in(store: Store, login: str, password: str, *, address: str) -> Identity:
    """A password sign-in: the identity, or one refusal whatever was wrong (slowed after failures).

    A request without a login name or without a password is not a sign-in (a webhook posted to
    the sign-in page, a form sent empty): refused as malformed, never counted as a failure, so
    it cannot slow anyone down."""
    person = (login or "").strip().lower()
    if not person or not password:
        raise UsageError("give a login name and a password")
    keys = [f"login:{person[:200]}", f"address:{address[:200]}"]
    now = utcnow()
    store.read(lambda tx: _check_not_throttled(tx, keys, now))
    row = store.read(lambda tx: rows.person_row(tx, person)) if inputs.PERSON_RE.fullmatch(person) else None
    ok, rehash = credentials.verify_password(None if row is None else row.password_hash, password or "")
    if not ok or row is None or not row.active:
        store.write(lambda tx: _count_failures(tx, keys, now))
        raise Unauthenticated(REFUSED)
    digest = credentials.hash_password(password) if rehash else None

    def succeeded(tx: WriteTx) -> None:
        for key in keys[:1]:  # the address keeps its count: one good password does not clear a guesser's
            rows.forget_failures(tx, key)
        if digest is not None:  # argon2's parameters changed since this hash was made
            rows.change_person(tx, person, now, password_hash=digest)

    store.write(succeeded)
    return Identity(person, "password")


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


def _check_not_throttled(tx: ReadTx, keys: list[str], now: str) -> None:
    for key in keys:
        row = rows.failures(tx, key)
        if row is None or inputs.later(row.first_at, WINDOW_SECONDS) <= now or row.failures <= FREE_FAILURES:
            continue
        wait = min(MAX_WAIT_SECONDS, 2 ** (row.failures - FREE_FAILURES))
        until = inputs.later(row.last_at, wait)
        if until > now:
            raise Throttled(
                f"too many failed sign-ins; try again in {_seconds_until(now, until)} s",
                retry_after=_seconds_until(now, until),
            )


def _count_failures(tx: WriteTx, keys: list[str], now: str) -> None:
    for key in keys:
        row: Any = rows.failures(tx, key)
        restart = row is not None and inputs.later(row.first_at, WINDOW_SECONDS) <= now
        rows.count_failure(tx, key, now, restart=restart)


def _seconds_until(now: str, then: str) -> int:
    from datetime import datetime

    def moment(at: str) -> datetime:
        return datetime.fromisoformat(at.replace("Z", "+00:00"))

    return max(1, int((moment(then) - moment(now)).total_seconds() + 0.999))
