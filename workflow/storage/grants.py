"""Who holds the admin and auditor grants, and who acts for whom (delegations)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, or_, select, update

from workflow.domain.duties.delegations import Delegation
from workflow.storage.database import utcnow
from workflow.storage.tables import delegations as t_delegations
from workflow.storage.tables import grants as t_grants

if TYPE_CHECKING:  # the transaction module reads projects, which read the delegations here
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


# -- delegations: someone away hands their roles to another for a while (engine/delegations.py) -----


def _delegation(row: Any) -> Delegation:
    roles = tuple(json.loads(row.roles))
    return Delegation(row.id, row.person, row.delegate, row.starts_on, row.until, roles, row.project,
                      row.reason, row.created_by, row.created_at, row.seq, row.ended_at, row.ended_by)


def delegations(tx: ReadTx, *, person: str | None = None, from_day: str | None = None,
                to_day: str | None = None, ident: str | None = None) -> list[Delegation]:
    """The delegations ``person`` gave or received (None: everybody's), those whose days reach into
    [from_day, to_day] when given, or the one ``ident``; oldest first."""
    d = t_delegations.c
    query = select(t_delegations).order_by(d.seq)
    if person is not None:
        query = query.where(or_(d.person == person, d.delegate == person))
    if from_day is not None:
        query = query.where(d.until >= from_day)
    if to_day is not None:
        query = query.where(d.starts_on <= to_day)
    if ident is not None:
        query = query.where(d.id == ident)
    return [_delegation(r) for r in tx.core(query)]


def add_delegation(tx: WriteTx, made: Delegation) -> None:
    tx.core(insert(t_delegations).values(
        id=made.id, person=made.person, delegate=made.to, starts_on=made.starts_on, until=made.until,
        roles=json.dumps(list(made.roles)), project=made.project, reason=made.reason,
        created_at=made.created_at, created_by=made.by, seq=made.seq))


def end_delegation(tx: WriteTx, ident: str, at: str, by: str) -> None:
    tx.core(update(t_delegations).where(t_delegations.c.id == ident).values(ended_at=at, ended_by=by))
