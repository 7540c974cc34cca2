"""Accounts and API tokens: who may sign in, and the credentials they prove it with.

Changes are admin commands (a person may set their own password and manage their own
tokens) and each is an event on the system chain; no secret and no hash is ever in
an event.
"""

from __future__ import annotations

import re
from email.utils import getaddresses, parseaddr
from typing import Any

from workflow.domain import credentials, inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.identity import Identity, acting
from workflow.domain.results import Person, TokenInfo
from workflow.domain.vocabulary import ASSERTED
from workflow.engine.people import passwords, signin
from workflow.errors import Conflict, NotFound, NotPermitted, RuleRefused, UsageError
from workflow.storage import people as rows
from workflow.storage.chains import append_system_event
from workflow.storage.database import utcnow
from workflow.storage.grants import holders, privileges_of
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx, WriteTx

EMAIL_MAX = 320
# local@domain, neither part holding space, a second @ or anything that separates, quotes or
# comments addresses in a header ("Ana <a@x>", "a@x, b@y", "a@x (b@y)").
_ADDRESS = re.compile(r"[^\s@\",;:<>()\[\]\\]+@[^\s@\",;:<>()\[\]\\.][^\s@\",;:<>()\[\]\\]*")


def add_user(
    store: Store, person: str, *, actor: str | Identity, name: str | None = None, email: str | None = None
) -> Event:
    who, person = acting(actor), inputs.person(person)
    name = inputs.text(name, "the display name", max_len=inputs.LINE_MAX, multiline=False)
    email = email_address(email)

    def work(tx: WriteTx) -> Event:
        tx.dialect.lock_system(tx)
        require_admin(tx, who, "add accounts")
        if rows.person_row(tx, person) is not None:
            raise Conflict(f"{person} has an account already")
        rows.add_person(tx, person, name, email, utcnow())
        return append_system_event(tx, who, "user.add", {"person": person, "name": name, "email": email})

    return store.write(work)


def users(store: Store, *, reader: str | Identity | None = None) -> list[Person]:
    def work(tx: ReadTx) -> list[Person]:
        if reader is not None:
            require_admin(tx, acting(reader), "list the accounts")
        return [person_of(r) for r in rows.every_person(tx)]

    return store.read(work)


def assignable(store: Store, *, most: int) -> list[tuple[str, str | None]]:
    """Who a role can be given to, for a picker: the first ``most`` active accounts, (login, display
    name). Empty where the database has no accounts (then any name can be assigned)."""
    return store.read(lambda tx: rows.active_people(tx, most))


def set_active(store: Store, person: str, active: bool, *, actor: str | Identity) -> Event:
    """Enable or disable an account; a disabled person's sessions end and their tokens are revoked."""
    return change_account(store, person, actor=actor, active=active)[-1]  # user.enable or user.disable


def disable_user(store: Store, person: str, *, actor: str | Identity) -> Event:
    """Disable an account: its sessions end, its tokens are revoked (for good: enabling it again
    revives none of them) and its --as stops working."""
    return set_active(store, person, False, actor=actor)


def enable_user(store: Store, person: str, *, actor: str | Identity) -> Event:
    return set_active(store, person, True, actor=actor)


def set_password(
    store: Store, person: str, password: str, *, actor: str | Identity, current: str | None = None
) -> Event:
    """A new password for ``person`` (an admin, or the person themself); their other sessions end.

    ``current``: the person's present password, needed when they change their own through the
    server (see :func:`change_account`)."""
    (event,) = change_account(store, person, actor=actor, password=password, current=current)
    return event


def change_account(
    store: Store,
    person: str,
    *,
    actor: str | Identity,
    active: bool | None = None,
    password: str | None = None,
    current: str | None = None,
) -> list[Event]:
    """Set ``person``'s password and/or enable or disable the account, all or nothing: everything
    is checked before anything is written, so a refused part leaves the other undone too.

    Enabling and disabling, and anyone else's password, need the admin grant. A person changing
    their own password through the server (a token, a session, the proxy) gives their current one
    as ``current`` (an admin too, for their own): a stolen session or token is not the password.
    In direct-database mode (an asserted actor) nothing more is asked: whoever can write the
    database can write any password's hash. An account with no password yet gets its first one
    without. The events: ``user.password``, then (disabling) a ``token.revoke`` for each live
    token, then ``user.enable`` or ``user.disable``.
    """
    who, person = acting(actor), inputs.person(person)
    if active is None and password is None:
        raise UsageError("give active, or password, or both")
    if password is not None:
        credentials.check_new_password(password)

    def allowed(tx: ReadTx) -> bool:
        """Refused unless ``who`` may do all of it; whether the current password is needed."""
        row = account(tx, person)
        if active is not None:
            require_admin(tx, who, "enable or disable accounts")
        if password is not None and who.person != person:
            require_admin(tx, who, f"set {person}'s password")
        return (password is not None and who.person == person and who.auth != ASSERTED
                and row.password_hash is not None)

    needs_current = store.read(allowed)  # before any argon2 work: a refusal costs nothing
    if needs_current:
        if not current:
            raise UsageError("to change your own password, give your current password too (a session "
                             "or a token alone is not enough)")
        signin.confirm_password(store, person, current)
    digest = None
    if password is not None:
        with passwords.slot():  # slow: outside the lock
            digest = passwords.run(credentials.hash_password, password)

    def work(tx: WriteTx) -> list[Event]:
        tx.dialect.lock_system(tx)
        if allowed(tx) != needs_current:  # a first password was set meanwhile
            raise Conflict(f"{person}'s password changed meanwhile; nothing was changed, try again")
        events, now = [], utcnow()
        if digest is not None:
            rows.change_person(tx, person, now, password_hash=digest)
            # Every other session ends; the person's own session that changed it goes on.
            rows.end_sessions(tx, now, person=person, keep=who.session if who.person == person else None)
            # On the record by its fingerprint (audit verify compares it; the salted hash stays out).
            data = {"person": person, "password_sha256": credentials.password_fingerprint(digest)}
            events.append(append_system_event(tx, who, "user.password", data))
        if active is not None:
            events.extend(_set_active(tx, who, person, active, now))
        return events

    return store.write(work)


def _set_active(tx: WriteTx, who: Identity, person: str, active: bool, now: str) -> list[Event]:
    if bool(account(tx, person).active) == active:
        raise RuleRefused(f"{person}'s account is {'enabled' if active else 'disabled'} already")
    if not active and person in holders(tx, "admin") and _active_admins(tx) == [person]:
        raise RuleRefused(f"{person} is the last admin with an active account; enable another admin first")
    rows.change_person(tx, person, now, active=active)
    events = []
    if not active:
        rows.end_sessions(tx, now, person=person)
        # Revoked, not only refused while disabled: enabling the account again revives none of them,
        # and each revocation is an event, so the record (and audit verify's state check) says so.
        for token_id in rows.revoke_tokens_of(tx, person, now):
            events.append(append_system_event(tx, who, "token.revoke", {"token": token_id, "person": person}))
    action = "user.enable" if active else "user.disable"
    events.append(append_system_event(tx, who, action, {"person": person}))
    return events


def create_token(
    store: Store, *, actor: str | Identity, name: str | None = None, expires_in: str | None = None
) -> tuple[TokenInfo, str]:
    """A new API token for the acting person; the secret is returned once and kept only as a hash."""
    who = acting(actor)
    name = inputs.text(name, "the token's name", max_len=inputs.LINE_MAX, multiline=False)
    seconds = None if expires_in is None else inputs.duration(expires_in, "--expires-in")
    secret = credentials.new_secret()

    def work(tx: WriteTx) -> TokenInfo:
        tx.dialect.lock_system(tx)
        row = account(tx, who.person)
        if not row.active:
            raise NotPermitted(f"{who.person}'s account is disabled")
        now = utcnow()
        token_id = credentials.new_id("tok_")
        expires = None if seconds is None else inputs.later(now, seconds)
        rows.add_token(
            tx,
            id=token_id,
            person=who.person,
            name=name,
            secret_hash=credentials.secret_hash(secret),
            created_at=now,
            expires_at=expires,
            last_used_at=None,
            revoked_at=None,
        )
        append_system_event(
            tx,
            who,
            "token.create",
            # The secret's sha256, as the tokens row keeps it: audit verify sees it swapped for another.
            {"token": token_id, "person": who.person, "name": name, "expires_at": expires,
             "secret_sha256": credentials.secret_hash(secret)},
        )
        return token_of(rows.token_row(tx, token_id))

    return store.write(work), secret


def tokens(store: Store, *, reader: str | Identity) -> list[TokenInfo]:
    """The acting person's tokens (never their secrets)."""
    who = acting(reader)
    return store.read(lambda tx: [token_of(r) for r in rows.tokens_of(tx, who.person)])


def revoke_token(store: Store, token_id: str, *, actor: str | Identity) -> Event:
    who = acting(actor)
    token_id = inputs.text(token_id, "the token id", required=True, max_len=32, multiline=False) or ""

    def work(tx: WriteTx) -> Event:
        tx.dialect.lock_system(tx)
        row = rows.token_row(tx, token_id)
        if row is None or (row.person != who.person and "admin" not in privileges_of(tx, who.person)):
            raise NotFound(f"{who.person} has no token {inputs.shown(token_id)}")
        if row.revoked_at is not None:
            raise RuleRefused(f"token {token_id} was revoked already, at {row.revoked_at}")
        rows.change_token(tx, token_id, revoked_at=utcnow())
        return append_system_event(tx, who, "token.revoke", {"token": token_id, "person": row.person})

    return store.write(work)


# -- rows as values ---------------------------------------------------------------------------------


def person_of(row: Any) -> Person:
    return Person(
        row.login,
        row.display_name,
        row.email,
        bool(row.active),
        row.password_hash is not None,
        row.created_at,
        row.updated_at,
    )


def token_of(row: Any) -> TokenInfo:
    return TokenInfo(
        row.id, row.person, row.name, row.created_at, row.expires_at, row.last_used_at, row.revoked_at
    )


def account(tx: ReadTx, person: str) -> Any:
    """``person``'s account row; a sentence naming the command that adds one if there is none."""
    row = rows.person_row(tx, person)
    if row is None:
        raise NotFound(f"{person} has no account; an admin adds one with `phasegate user add {person}`")
    return row


def require_admin(tx: ReadTx, who: Identity, doing: str) -> None:
    """Refused with a sentence unless ``who`` holds the admin grant."""
    rules.require_privilege(who.person, privileges_of(tx, who.person), "admin", doing)


def _active_admins(tx: ReadTx) -> list[str]:
    out = []
    for person in holders(tx, "admin"):
        row = rows.person_row(tx, person)
        if row is None or row.active:  # an admin without an account acts in direct-database mode
            out.append(person)
    return out


def email_address(value: str | None) -> str | None:
    """One plain address (``ana@example.com``) or None. An account's address is where notification
    e-mails go, one recipient each: a second address, a display name, a comment or a line break
    would send them (or a header) somewhere else, so only what ``email.utils`` reads back as this
    one address, with no name, is taken."""
    email = inputs.text(value, "the e-mail address", max_len=EMAIL_MAX)  # a line break: refused below
    if email is None:
        return None
    if not (_ADDRESS.fullmatch(email) and getaddresses([email]) == [("", email)]
            and parseaddr(email) == ("", email)):
        raise UsageError(f"{inputs.shown(email)} is not an e-mail address: give one plain address, such as "
                         "ana@example.com (no name, no second address)")
    return email
