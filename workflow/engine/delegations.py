"""Delegations: someone away hands their roles to another for a while, on the system chain.

``delegate`` (the person themselves, or an admin) records a ``delegate`` event and a ``delegations``
row; ``end_delegation`` a ``delegate.end``; ``delegations`` lists them. The rules of making one
(never to oneself, at most DELEGATION_DAYS, never chained) are
:func:`workflow.domain.duties.delegations.refuse_new`; what a delegation lets the delegate do is
:mod:`workflow.domain.duties.signing`'s, asked by the project commands (``rules.may_approve``,
``rules.may_complete_task``).
"""

from __future__ import annotations

import secrets

from workflow.domain import inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.duties.delegations import Delegation, refuse_new
from workflow.domain.identity import Identity, acting
from workflow.domain.schedule import workdays
from workflow.domain.templates import schema
from workflow.errors import NotFound, NotPermitted, RuleRefused, UsageError
from workflow.storage import grants as stored
from workflow.storage import statements as sql
from workflow.storage.chains import append_system_event
from workflow.storage.database import utcnow
from workflow.storage.statements import ProjectRow
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx, WriteTx


def delegate(store: Store, person: str, to: str, starts_on: str, until: str, *, actor: str | Identity,
             roles: list[str] | tuple[str, ...] | str | None = None, project: str | None = None,
             reason: str | None = None) -> Delegation:
    """Let ``to`` act for ``person`` from ``starts_on`` to ``until`` (days, inclusive, UTC), for
    ``roles`` (None: every role) on ``project`` (None: every project). The person, or an admin."""
    who = acting(actor)
    person, to = inputs.person(person, "the person away"), inputs.person(to, "the delegate")
    today = workdays.parse_day(utcnow())
    first = workdays.given_day(starts_on, today, "the first day")
    last = workdays.given_day(until, today, "the last day")
    wanted = _roles(roles)
    code = None if project is None else inputs.project_code(project)
    reason = inputs.text(reason, "the reason")

    def work(tx: WriteTx) -> Delegation:
        tx.dialect.lock_system(tx)
        _as_self_or_admin(tx, who.person, person, "delegate")
        if code is not None:
            _check_project(tx, code, wanted)
        refuse_new(person, to, first, last, today.isoformat(), stored.delegations(tx, from_day=first))
        ident = "d" + secrets.token_hex(4)
        data = {"delegation": ident, "person": person, "to": to, "starts_on": first, "until": last,
                "roles": list(wanted), "project": code, "reason": reason}
        event = append_system_event(tx, who, "delegate", data)
        made = Delegation(ident, person, to, first, last, wanted, code, reason, who.person, event.at,
                          event.seq)
        stored.add_delegation(tx, made)
        return made

    return store.write(work)


def end_delegation(store: Store, ident: str, *, actor: str | Identity) -> Event:
    """End a delegation before its last day (the person who delegated, the delegate, or an admin)."""
    who = acting(actor)
    ident = inputs.text(ident, "the delegation's id", required=True) or ""

    def work(tx: WriteTx) -> Event:
        tx.dialect.lock_system(tx)
        found = stored.delegations(tx, ident=ident)
        if not found:
            raise NotFound(f"there is no delegation {inputs.shown(ident)}")
        d = found[0]
        if who.person not in (d.person, d.to):
            _as_self_or_admin(tx, who.person, d.person, "end the delegation of")
        now = utcnow()
        if d.ended_at is not None or d.until < now[:10]:
            raise RuleRefused(f"delegation {d.id} ({d.person} to {d.to}) has already ended")
        event = append_system_event(tx, who, "delegate.end", {"delegation": d.id, "person": d.person,
                                                             "to": d.to})
        stored.end_delegation(tx, d.id, event.at, who.person)
        return event

    return store.write(work)


def delegations(store: Store, *, reader: str | Identity, person: str | None = None,
                current: bool = False) -> list[Delegation]:
    """The delegations ``person`` gave or received (None: the reader's own; admins and auditors may name
    anyone, or ``person="*"`` for everybody's); ``current``: only those not over yet."""
    who = acting(reader).person
    wanted = who if person is None else person if person == "*" else inputs.person(person)

    def work(tx: ReadTx) -> list[Delegation]:
        if wanted != who:
            rules.require_audit_reader(who, stored.privileges_of(tx, who), "list other people's delegations")
        found = stored.delegations(tx, person=None if wanted == "*" else wanted,
                                   from_day=utcnow()[:10] if current else None)
        return [d for d in found if not current or d.ended_at is None]

    return store.read(work)


def _roles(roles: list[str] | tuple[str, ...] | str | None) -> tuple[str, ...]:
    if roles is None:
        return ()
    given = roles.split(",") if isinstance(roles, str) else list(roles)
    keys = tuple(dict.fromkeys(r.strip() for r in given if r.strip()))
    for key in keys:
        if len(key) > schema.MAX_KEY_LENGTH or not schema.ROLE_KEY.fullmatch(key):
            raise UsageError(f"{inputs.shown(key)} is not a role key ({schema.KINDS['role_key']})")
    return keys


def _as_self_or_admin(tx: ReadTx, actor: str, person: str, doing: str) -> None:
    if actor != person and "admin" not in stored.privileges_of(tx, actor):
        raise NotPermitted(f"{actor} may not {doing} {person}'s work: only {person} or an admin may")


def _check_project(tx: ReadTx, code: str, roles: tuple[str, ...]) -> None:
    found = tx.execute(sql.PROJECT, code=code).fetchone()
    if found is None:
        raise NotFound(f"there is no project {code}")
    definition = tx.template(ProjectRow._make(found).template_id).definition
    unknown = [r for r in roles if definition.role(r) is None]
    if unknown:
        raise UsageError(f"project {code} has no role {', '.join(unknown)} "
                         f"(roles: {', '.join(definition.role_keys)})")
