"""Accounts, API tokens, web sessions and failed sign-ins, as rows."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import delete, insert, select, update

from workflow.storage.statements import Statement
from workflow.storage.tables import people as t_people
from workflow.storage.tables import server_keys as t_keys
from workflow.storage.tables import sessions as t_sessions
from workflow.storage.tables import sign_in_failures as t_failures
from workflow.storage.tables import tokens as t_tokens
from workflow.storage.transaction import ReadTx, WriteTx


def person_row(tx: ReadTx, login: str) -> Any:
    return tx.core(select(t_people).where(t_people.c.login == login)).first()


def accounts_exist(tx: ReadTx) -> bool:
    """Whether the database has any account at all (one row read)."""
    return tx.core(select(t_people.c.login).limit(1)).first() is not None


def logins(tx: ReadTx) -> list[str]:
    """Every account's login name, in order."""
    return [login for (login,) in tx.core(select(t_people.c.login).order_by(t_people.c.login))]


def active_people(tx: ReadTx, most: int) -> list[tuple[str, str | None]]:
    """The first ``most`` active accounts by login: (login, display name)."""
    stmt = (select(t_people.c.login, t_people.c.display_name).where(t_people.c.active.is_(True))
            .order_by(t_people.c.login).limit(most))
    return [(login, name) for login, name in tx.core(stmt)]


def disabled_among(tx: ReadTx, logins: set[str]) -> frozenset[str]:
    """Which of ``logins`` have an account that is disabled (a name without an account is not)."""
    if not logins:
        return frozenset()
    stmt = select(t_people.c.login).where(t_people.c.active.is_(False), t_people.c.login.in_(sorted(logins)))
    return frozenset(login for (login,) in tx.core(stmt))


def every_person(tx: ReadTx) -> list[Any]:
    return list(tx.core(select(t_people).order_by(t_people.c.login)))


def add_person(tx: WriteTx, login: str, name: str | None, email: str | None, now: str) -> None:
    tx.core(
        insert(t_people).values(
            login=login,
            display_name=name,
            email=email,
            active=True,
            password_hash=None,
            created_at=now,
            updated_at=now,
        )
    )


def change_person(tx: WriteTx, login: str, now: str, **values: Any) -> None:
    tx.core(update(t_people).where(t_people.c.login == login).values(updated_at=now, **values))
    if "active" in values or "password_hash" in values:
        tx.dialect.credentials_changed(tx)


def add_token(tx: WriteTx, **values: Any) -> None:
    tx.core(insert(t_tokens).values(**values))


def token_row(tx: ReadTx, token_id: str) -> Any:
    return tx.core(select(t_tokens).where(t_tokens.c.id == token_id)).first()


class TokenRow(NamedTuple):
    id: str
    person: str
    name: str | None
    secret_hash: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None
    active: bool


# Every request with a bearer token runs this, so it is a prepared text statement on the DBAPI
# cursor (like the write path's) rather than a Core select compiled per call.
TOKEN_BY_SECRET = Statement(
    "token_by_secret",
    "SELECT t.id, t.person, t.name, t.secret_hash, t.created_at, t.expires_at, t.last_used_at, "
    "t.revoked_at, p.active FROM tokens t JOIN people p ON p.login = t.person WHERE t.secret_hash = :digest",
)


def token_by_secret(tx: ReadTx, digest: str) -> TokenRow | None:
    """The token whose secret hashes to ``digest``, with its person's account (one index probe).

    Its read transaction holds nothing else (``Dialect.read_alone``: on PostgreSQL the BEGIN, the
    SELECT and the end go in one round trip).
    """
    row = tx.dialect.read_alone(tx, TOKEN_BY_SECRET, {"digest": digest}).fetchone()
    if row is None:
        return None
    return TokenRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]))


def tokens_of(tx: ReadTx, person: str | None) -> list[Any]:
    stmt = select(t_tokens).order_by(t_tokens.c.person, t_tokens.c.created_at)
    if person is not None:
        stmt = stmt.where(t_tokens.c.person == person)
    return list(tx.core(stmt))


def change_token(tx: WriteTx, token_id: str, **values: Any) -> None:
    tx.core(update(t_tokens).where(t_tokens.c.id == token_id).values(**values))
    if values.keys() - {"last_used_at"}:  # a revoke (a token's last use changes nothing it proves)
        tx.dialect.credentials_changed(tx)


def add_session(tx: WriteTx, **values: Any) -> None:
    tx.core(insert(t_sessions).values(**values))


def session_by_id(tx: ReadTx, digest: str) -> Any:
    return tx.core(
        select(t_sessions, t_people.c.active)
        .join(t_people, t_people.c.login == t_sessions.c.person)
        .where(t_sessions.c.id_hash == digest)
    ).first()


def end_sessions(
    tx: WriteTx, now: str, *, digest: str | None = None, person: str | None = None, keep: str | None = None
) -> None:
    """End the live sessions with id hash ``digest``, or of ``person`` (but the one hashed ``keep``)."""
    stmt = update(t_sessions).where(t_sessions.c.revoked_at.is_(None)).values(revoked_at=now)
    if keep is not None:
        stmt = stmt.where(t_sessions.c.id_hash != keep)
    if digest is not None:
        stmt = stmt.where(t_sessions.c.id_hash == digest)
    if person is not None:
        stmt = stmt.where(t_sessions.c.person == person)
    tx.core(stmt)


def failures(tx: ReadTx, key: str) -> Any:
    return tx.core(select(t_failures).where(t_failures.c.key == key)).first()


def failures_locked(tx: WriteTx, key: str) -> Any:
    """``key``'s row, locked for the rest of the transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE
    holds the whole file), so two sign-ins under one key cannot both read the count before either
    adds to it. A key with no row locks nothing: two first failures both insert, and the second
    insert's unique violation makes its transaction run again, finding the row."""
    return tx.core(select(t_failures).where(t_failures.c.key == key).with_for_update()).first()


def uncount_failure(tx: WriteTx, key: str) -> None:
    """Take back one failure counted in advance (the attempt turned out to be right)."""
    tx.core(
        update(t_failures)
        .where(t_failures.c.key == key, t_failures.c.failures > 0)
        .values(failures=t_failures.c.failures - 1)
    )


def forget_stale_failures(tx: WriteTx, before: str) -> None:
    """Rows whose last failure is older than ``before``: they slow nobody down any more."""
    tx.core(delete(t_failures).where(t_failures.c.last_at < before))


def revoke_tokens_of(tx: WriteTx, person: str, now: str) -> list[str]:
    """Revoke every token of ``person`` not revoked yet; their ids, oldest first."""
    live = [r.id for r in tokens_of(tx, person) if r.revoked_at is None]
    if live:
        tx.core(update(t_tokens).where(t_tokens.c.id.in_(live)).values(revoked_at=now))
        tx.dialect.credentials_changed(tx)
    return live


def server_key(tx: ReadTx, name: str) -> str | None:
    """The server's secret called ``name`` (hex), or None before its first use."""
    return tx.core(select(t_keys.c.secret).where(t_keys.c.name == name)).scalar()


def add_server_key(tx: WriteTx, name: str, secret: str, now: str) -> None:
    tx.core(insert(t_keys).values(name=name, secret=secret, created_at=now))


def count_failure(tx: WriteTx, key: str, now: str, *, restart: bool) -> None:
    row = failures(tx, key)
    if row is None:
        tx.core(insert(t_failures).values(key=key, failures=1, first_at=now, last_at=now))
    elif restart:
        tx.core(
            update(t_failures).where(t_failures.c.key == key).values(failures=1, first_at=now, last_at=now)
        )
    else:
        tx.core(
            update(t_failures)
            .where(t_failures.c.key == key)
            .values(failures=t_failures.c.failures + 1, last_at=now)
        )


def forget_failures(tx: WriteTx, key: str) -> None:
    tx.core(delete(t_failures).where(t_failures.c.key == key))
