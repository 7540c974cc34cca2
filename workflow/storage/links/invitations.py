"""Invitations of outside signers (issue 24) and the e-mails that carry their secrets, in SQLAlchemy Core
(nothing here is on the hot path of the ordinary commands).

A link's secret and a code are stored only as their sha256; the e-mail that carries one holds it in the
outbox row's ``payload`` until the row is delivered or dead (:mod:`workflow.delivery.leases` clears it),
or the invitation is revoked or the code replaced (cleared here).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, insert, select, update

from workflow.storage.tables import invitations as t_inv
from workflow.storage.tables import outbox as t_outbox
from workflow.storage.tables import projects as t_projects
from workflow.storage.transaction import ReadTx, WriteTx

_i, _o, _p = t_inv.c, t_outbox.c, t_projects.c
SECRET_KINDS = ("invite", "code")  # the outbox kinds whose e-mail carries a secret in ``payload``


def by_secret(tx: ReadTx, digest: str, *, lock: bool = False) -> Any:
    """The invitation whose secret has sha256 ``digest``, with its project's code and status (or None)."""
    query = (select(t_inv, _p.code.label("project"), _p.status.label("project_status"))
             .select_from(t_inv.join(t_projects, _p.id == _i.project_id)).where(_i.secret_hash == digest))
    return tx.core(query.with_for_update() if lock else query).first()


def by_id(tx: ReadTx, invitation: str, project_id: int | None = None) -> Any:
    query = select(t_inv).where(_i.id == invitation)
    if project_id is not None:
        query = query.where(_i.project_id == project_id)
    return tx.core(query).first()


def of_project(tx: ReadTx, project_id: int) -> list[Any]:
    """Every invitation of a project, oldest first."""
    return list(tx.core(select(t_inv).where(_i.project_id == project_id).order_by(_i.created_at, _i.id)))


def not_revoked(tx: ReadTx, project_id: int, role: str, email: str) -> list[Any]:
    return list(tx.core(select(t_inv).where(_i.project_id == project_id, _i.role == role, _i.email == email,
                                            _i.revoked_at.is_(None))))


def add(tx: WriteTx, **values: Any) -> None:
    tx.core(insert(t_inv).values(code_tries=0, **values))


def change(tx: WriteTx, invitation: str, **values: Any) -> None:
    tx.core(update(t_inv).where(_i.id == invitation).values(**values))


def mail(tx: WriteTx, *, chain: str, seq: int, kind: str, person: str, email: str, payload: str,
         now: str) -> int:
    """An e-mail to the invited address alone, carrying ``payload``; its outbox id (the delivery id)."""
    result = tx.core(insert(t_outbox).values(
        chain=chain, seq=seq, kind=kind, people=json.dumps([person]), channel="email", target=email,
        status="pending", attempts=0, next_attempt_at=now, lease_until=None, last_error=None, created_at=now,
        delivered_at=None, payload=payload))
    return int(result.inserted_primary_key[0])


def forget_secrets(tx: WriteTx, chain: str, seq: int, *, only: int | None = None, reason: str) -> None:
    """The pending e-mails of an invitation (its event ``chain``/``seq``; ``only``: that outbox row) that
    carry a secret are not sent any more: dead, their secret cleared."""
    where = and_(_o.chain == chain, _o.seq == seq, _o.kind.in_(SECRET_KINDS), _o.status == "pending")
    if only is not None:
        where = and_(where, _o.id == only)
    tx.core(update(t_outbox).where(where).values(status="dead", payload=None, last_error=reason))
