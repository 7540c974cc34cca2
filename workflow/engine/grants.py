"""The first admin, and the admin and auditor grants."""

from __future__ import annotations

from typing import Any

from workflow.domain import inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.identity import Identity, acting
from workflow.domain.vocabulary import PRIVILEGES
from workflow.engine.templates import publish_builtins
from workflow.errors import NotFound, NotPermitted, RuleRefused, UsageError
from workflow.storage.chains import append_system_event
from workflow.storage.grants import add_grant, every_grant, holders, privileges_of, remove_grant
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx, WriteTx


def init(store: Store, admin: str) -> dict[str, Any]:
    """Idempotent set-up: schema (done on open), built-ins, and ``admin`` as the first admin."""
    admin = inputs.person(admin, "the admin's name")
    published = publish_builtins(store)

    def work(tx: WriteTx) -> dict[str, Any]:
        tx.dialect.lock_system(tx)
        admins = holders(tx, "admin")
        if admins and admin not in admins:
            raise NotPermitted(
                f"this database already has admins ({', '.join(admins)}); "
                f"ask one of them to grant {admin} admin"
            )
        if not admins:
            _grant(tx, admin, "admin", admin)
        return {
            "database": store.url,
            "admin": admin,
            "admin_created": not admins,
            "templates_published": [f"{t.key} v{t.version}" for t in published],
        }

    return store.write(work)


def grant(store: Store, person: str, privilege: str, *, actor: str | Identity) -> Event:
    person, actor = _people(person, actor, privilege)

    def work(tx: WriteTx) -> Event:
        _as_admin(tx, actor, "grant privileges")
        if person in holders(tx, privilege):
            raise RuleRefused(f"{person} already has the {privilege} grant")
        return _grant(tx, person, privilege, actor)

    return store.write(work)


def revoke(store: Store, person: str, privilege: str, *, actor: str | Identity) -> Event:
    person, actor = _people(person, actor, privilege)

    def work(tx: WriteTx) -> Event:
        _as_admin(tx, actor, "revoke privileges")
        current = holders(tx, privilege)
        if person not in current:
            raise NotFound(f"{person} does not have the {privilege} grant")
        if privilege == "admin" and current == [person]:
            raise RuleRefused(f"{person} is the last admin; grant admin to someone else first")
        remove_grant(tx, person, privilege)
        return append_system_event(tx, actor, "revoke", {"person": person, "privilege": privilege})

    return store.write(work)


def grants(store: Store, *, reader: str | Identity | None = None) -> dict[str, list[str]]:
    """privilege -> people holding it (for admins and auditors)."""

    def work(tx: ReadTx) -> dict[str, list[str]]:
        if reader is not None:
            who = acting(reader).person
            rules.require_audit_reader(who, privileges_of(tx, who), "list the grants")
        out: dict[str, list[str]] = {p: [] for p in PRIVILEGES}
        for privilege, person in every_grant(tx):
            out[privilege].append(person)
        return out

    return store.read(work)


def _as_admin(tx: WriteTx, actor: Identity, doing: str) -> None:
    """Grants change under the system chain's lock, and only by an admin."""
    tx.dialect.lock_system(tx)
    rules.require_privilege(actor.person, privileges_of(tx, actor.person), "admin", doing)


def _people(person: str, actor: str | Identity, privilege: str) -> tuple[str, Identity]:
    if privilege not in PRIVILEGES:
        raise UsageError(f"unknown grant {inputs.shown(privilege)}: use admin or auditor")
    return inputs.person(person), acting(actor)


def _grant(tx: WriteTx, person: str, privilege: str, actor: str | Identity) -> Event:
    add_grant(tx, person, privilege, acting(actor).person)
    return append_system_event(tx, actor, "grant", {"person": person, "privilege": privilege})


def grants_of(store: Store, person: str) -> frozenset[str]:
    """The grants ``person`` holds (for the server: who may see /metrics, who am I)."""
    return store.read(lambda tx: privileges_of(tx, inputs.person(person)))
