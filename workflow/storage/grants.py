"""Who holds the admin and auditor grants."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from workflow.storage.database import utcnow
from workflow.storage.tables import grants as t_grants
from workflow.storage.transaction import ReadTx, WriteTx


def privileges_of(tx: ReadTx, person: str) -> frozenset[str]:
    return frozenset(
        r.privilege for r in tx.core(select(t_grants.c.privilege).where(t_grants.c.person == person))
    )


def holders(tx: ReadTx, privilege: str) -> list[str]:
    rows = tx.core(
        select(t_grants.c.person).where(t_grants.c.privilege == privilege).order_by(t_grants.c.person)
    )
    return [r.person for r in rows]


def every_grant(tx: ReadTx) -> list[tuple[str, str]]:
    """(privilege, person), ordered."""
    rows = tx.core(
        select(t_grants.c.privilege, t_grants.c.person).order_by(t_grants.c.privilege, t_grants.c.person)
    )
    return [(r.privilege, r.person) for r in rows]


def add_grant(tx: WriteTx, person: str, privilege: str, by: str) -> None:
    tx.core(insert(t_grants).values(person=person, privilege=privilege, granted_at=utcnow(), granted_by=by))


def remove_grant(tx: WriteTx, person: str, privilege: str) -> None:
    tx.core(delete(t_grants).where(t_grants.c.person == person, t_grants.c.privilege == privilege))
