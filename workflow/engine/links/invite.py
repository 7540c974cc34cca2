"""Inviting an outside signer to an external role, revoking the invitation, listing a project's.

``invite`` is a project command (declared in :mod:`workflow.domain.commands`): its event records the
invitation's id, role, address, name and expiry, never the secret; the signer (``client:ADDRESS``)
joins the role's team with it, and the e-mail with the link is written to the outbox in the same
transaction. Inviting an address to a role again revokes its earlier links (one live link per
project, role and address: the reissue). ``revoke_invite`` kills the link and takes the signer out of
the role, with their approval of the current round, as ``unassign`` does.
"""

from __future__ import annotations

import secrets
from typing import Any

from workflow.domain import credentials, inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.identity import Identity, acting, external_person
from workflow.domain.links.view import DAY, Invitation, expiry_days, state_of
from workflow.domain.rules import Context
from workflow.engine.commands import implements
from workflow.engine.people.accounts import email_address
from workflow.engine.running import record
from workflow.engine.visibility import readable_project
from workflow.errors import NotFound, RuleRefused, UsageError
from workflow.storage import statements as sql
from workflow.storage.database import utcnow
from workflow.storage.links import invitations as rows
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx, WriteTx

EMAIL_MOST = 190  # the signer's name in the record is "client:" and the address, within a person's 200


def _inputs(role: str, email: str, name: str | None, expires: str | None) -> dict[str, Any]:
    address = email_address(email if isinstance(email, str) else None)
    if address is None:
        raise UsageError("the e-mail address is required: the link goes there, and its codes")
    if len(address) > EMAIL_MOST:
        raise UsageError(f"the e-mail address is too long ({len(address)} characters; at most {EMAIL_MOST})")
    return {"role": role, "email": address.lower(), "expires": expiry_days(expires),
            "name": inputs.text(name, "the name", max_len=200, multiline=False)}


@implements("invite", inputs=_inputs)
def invite(ctx: Context, tx: WriteTx, role: str, email: str, name: str | None, expires: int) -> Event:
    rules.may_invite(ctx, role)
    state = ctx.state
    assert state.id is not None
    person, seq = external_person(email), state.seq + 1
    replaced = []
    for old in rows.not_revoked(tx, state.id, role, email):  # the reissue: one live link per address
        rows.change(tx, old.id, revoked_at=ctx.now, code_hash=None)
        rows.forget_secrets(tx, state.code, old.seq, reason="the invitation was reissued")
        replaced.append(old.id)
    invitation, secret = credentials.new_id("inv_"), secrets.token_urlsafe(32)
    expires_at = inputs.later(ctx.now, expires * DAY)
    rows.add(tx, id=invitation, project_id=state.id, role=role, email=email, name=name,
             secret_hash=credentials.secret_hash(secret), created_at=ctx.now, created_by=ctx.actor,
             expires_at=expires_at, seq=seq)
    joined = not state.holds(role, person)
    if joined:
        tx.write(sql.INSERT_ASSIGNMENT, {"project_id": state.id, "role": role, "person": person,
                                         "assigned_at": ctx.now, "assigned_by": ctx.actor, "seq": seq})
    data = {"invitation": invitation, "role": role, "role_title": ctx.role_title(role), "email": email,
            "name": name, "person": person, "expires_at": expires_at, "joined": joined, "replaces": replaced}
    event = record(ctx, tx, "invite", data, authority=None)
    rows.mail(tx, chain=state.code, seq=event.seq, kind="invite", person=person, email=email, payload=secret,
              now=ctx.now)
    return event


@implements("revoke_invite")
def revoke_invite(ctx: Context, tx: WriteTx, invitation: str) -> Event:
    rules.may_revoke_invite(ctx, invitation)
    state = ctx.state
    row = rows.by_id(tx, invitation, state.id)
    if row is None:
        raise NotFound(f"{ctx.code} has no invitation {inputs.shown(invitation)}")
    if row.revoked_at is not None:
        raise RuleRefused(f"invitation {invitation} of {ctx.code} was revoked already, at {row.revoked_at}")
    rows.change(tx, invitation, revoked_at=ctx.now, code_hash=None)
    rows.forget_secrets(tx, state.code, row.seq, reason="the invitation was revoked")
    person = external_person(row.email)
    left = state.holds(row.role, person)
    voided = []
    if left:
        tx.write(sql.DELETE_ASSIGNMENT, {"project_id": state.id, "role": row.role, "person": person})
        signed = state.approvals.get(row.role)
        if signed is not None and signed.person == person:  # it counts only while its signer holds the role
            tx.write(sql.DELETE_APPROVAL, {"project_id": state.id, "phase": state.phase, "round": state.round,
                                           "role": row.role})
            voided.append({"role": row.role, "person": person, "seq": signed.seq})
    data = {"invitation": invitation, "role": row.role, "role_title": ctx.role_title(row.role),
            "email": row.email, "person": person, "left": left, "voided": {"approvals": voided}}
    return record(ctx, tx, "invite.revoke", data, authority=None)


def invitations(store: Store, code: str, *, reader: str | Identity | None = None) -> list[Invitation]:
    """The invitations of project ``code``, oldest first (admins, auditors and its team read them)."""
    code = inputs.project_code(code)
    who = None if reader is None else acting(reader).person
    now = utcnow()

    def work(tx: ReadTx) -> list[Invitation]:
        state, _privileges = readable_project(tx, code, who)
        assert state.id is not None
        return [Invitation(r.id, code, r.role, r.email, r.name, external_person(r.email), r.created_at,
                           r.created_by, r.expires_at, state_of(r, now), r.used_seq,
                           r.code_hash is not None and (r.code_expires_at or "") > now)
                for r in rows.of_project(tx, state.id)]

    return store.read(work)
