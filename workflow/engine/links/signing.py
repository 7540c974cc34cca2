"""A signing link at work: what it shows (:func:`link`), its one-time code (:func:`link_send_code`), its
decision (:func:`link_decide`) and its files (:func:`link_file`).

Every function starts from the link's secret, looked up by its sha256 (an index probe, then compared in
constant time) and refused with one :class:`~workflow.errors.LinkUnusable` whatever was wrong (unknown,
expired, revoked, used for a decision), which says nothing of any project. A decision counts only with
the code e-mailed to the invited address: checked first in a transaction of its own (a wrong code is
counted and the count kept), then again, under the project's lock, in the ordinary command's own
transaction, which consumes it. Codes sent are bounded per link, per address and per client address;
wrong codes per code and per address (:mod:`workflow.domain.limits`).
"""

from __future__ import annotations

import secrets
from typing import Any

from workflow.domain import credentials, inputs, limits, rules
from workflow.domain.audit.events import Event
from workflow.domain.deliverables import digests
from workflow.domain.identity import Identity, external_person
from workflow.domain.links.view import APPROVE, DONE, REJECT, LinkView, decision_of
from workflow.domain.rules import Context
from workflow.domain.vocabulary import EMAIL_LINK
from workflow.engine.commands import BODIES
from workflow.engine.deliverables.read import Opened, open_deliverable
from workflow.engine.people.signin import address_key
from workflow.engine.running import project_command
from workflow.engine.work import meaning
from workflow.errors import LinkUnusable, NotPermitted, PhasegateError, Throttled
from workflow.storage import people as counters
from workflow.storage.database import utcnow
from workflow.storage.files import versions
from workflow.storage.links import invitations as rows
from workflow.storage.project_rows import read_project
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx, WriteTx

HOUR = 3600.0
SECRET_MOST = 100  # a link's secret is 43 characters: anything longer is not one, and not hashed
COMMAND = {APPROVE: "approve", REJECT: "reject", DONE: "complete_task"}


def _find(tx: ReadTx, secret: str, now: str, *, used: bool = False, lock: bool = False) -> Any:
    """The invitation of a usable link (``used``: one used for a decision passes too), or LinkUnusable."""
    if not isinstance(secret, str) or not 20 <= len(secret) <= SECRET_MOST:
        raise LinkUnusable()
    digest = credentials.secret_hash(secret)
    row = rows.by_secret(tx, digest, lock=lock)
    if (row is None or not credentials.same(row.secret_hash, digest) or row.revoked_at is not None
            or row.expires_at <= now or (row.used_seq is not None and not used)):
        raise LinkUnusable()
    return row


def _code_hash(invitation: str, code: str) -> str:
    return credentials.secret_hash(f"{invitation}:{code}")


# -- what the link shows ----------------------------------------------------------------------------


def link(store: Store, secret: str) -> LinkView:
    """What the link's page shows: the project's current phase, the gate's meaning, the phase's
    deliverables (key, title, version, sha256, size, media type), what the link may do now."""
    now = utcnow()

    def work(tx: ReadTx) -> LinkView:
        row = _find(tx, secret, now)
        person = external_person(row.email)
        loaded = read_project(tx, row.project, person)
        if loaded is None:
            raise LinkUnusable()
        state, privileges = loaded
        tpl = tx.template(state.template_id)
        ctx = Context(state, tpl, person, privileges, now, EMAIL_LINK)
        phase, gate, role = ctx.phase, ctx.phase.gate, row.role
        can = [name for name, may in ((APPROVE, rules.may_approve), (REJECT, rules.may_reject),
                                      (f"{DONE}:{role}", rules.may_complete_task))
               if _allowed(may, ctx, role)]
        task = phase.task_of(role)
        done = state.tasks.get(role)
        tasks = [] if task is None else [{"role": role, "task": task, "done": done is not None,
                                          "by": None if done is None else done.person}]
        newest: dict[str, Any] = {}
        assert state.id is not None
        for v in versions.listing(tx, state.id, state.code, tpl.definition, phase=state.phase):
            newest[v.key] = v
        files = [{"key": v.key, "title": v.title, "version": v.version, "kind": v.kind, "sha256": v.sha256,
                  "size": v.size, "media_type": v.media_type, "name": v.name, "url": v.url, "label": v.label}
                 for v in newest.values()]
        pending = row.code_hash is not None and (row.code_expires_at or "") > now
        return LinkView(
            row.id, state.code, state.name, state.client, role, ctx.role_title(role), row.email, row.name,
            state.status, phase.key, phase.title, state.round, None if gate is None else gate.title,
            None if gate is None else gate.description,
            None if gate is None else meaning(gate.title, phase.title, state.round), tasks, files, can,
            row.expires_at, pending, row.code_expires_at if pending else None)

    return store.read(work)


def _allowed(may: Any, ctx: Context, role: str) -> bool:
    try:
        may(ctx, role)
    except PhasegateError:
        return False
    return True


def link_file(store: Store, secret: str, key: str, version: int | None = None) -> Opened:
    """A deliverable of the link's project, in its current phase, exactly as ``deliverable get`` reads it."""
    now = utcnow()
    found = store.read(lambda tx: _find(tx, secret, now))
    phase = store.read(lambda tx: _phase_of(tx, found.project, external_person(found.email)))
    return open_deliverable(store, found.project, key, version, phase=phase, reader=None)


def _phase_of(tx: ReadTx, code: str, person: str) -> str:
    loaded = read_project(tx, code, person)
    if loaded is None:
        raise LinkUnusable()
    return loaded[0].phase


# -- the one-time code --------------------------------------------------------------------------------


def link_send_code(store: Store, secret: str, *, ip: str, user_agent: str | None = None) -> str:
    """E-mail a new 6-digit code to the invitation's address (never anywhere else); its delivery id (the
    outbox row). The code lasts 10 minutes and 5 wrong tries; a new one replaces the old."""
    del user_agent  # the decision records the browser; sending a code changes nothing on the record

    def work(tx: WriteTx) -> str:
        now = utcnow()
        row = _find(tx, secret, now, lock=True)
        _spend(tx, now, f"link-codes:{row.id}", limits.LINK_CODES_PER_LINK)
        _spend(tx, now, f"link-codes-to:{row.email}", limits.LINK_CODES_PER_ADDRESS)
        _spend(tx, now, f"link-codes-from:{address_key(str(ip))}", limits.LINK_CODES_PER_ADDRESS)
        if row.code_delivery is not None:  # the old code's e-mail, if not sent yet, is not sent at all
            rows.forget_secrets(tx, row.project, row.seq, only=row.code_delivery,
                                reason="a new code was sent")
        code = f"{secrets.randbelow(1_000_000):06d}"
        delivery = rows.mail(tx, chain=row.project, seq=row.seq, kind="code",
                             person=external_person(row.email), email=row.email, payload=code, now=now)
        rows.change(tx, row.id, code_hash=_code_hash(row.id, code), code_delivery=delivery, code_tries=0,
                    code_expires_at=inputs.later(now, float(limits.LINK_CODE_SECONDS.default)))
        return str(delivery)

    return store.write(work)


def _spend(tx: WriteTx, now: str, key: str, limit: limits.Limit) -> None:
    """One more under ``key`` in the hour, or Throttled (nothing counted) when the hour's are spent."""
    row = counters.failures_locked(tx, key)
    restart = row is not None and inputs.later(row.first_at, HOUR) <= now
    if row is not None and not restart and row.failures >= int(limit.default):
        _throttled(now, row.first_at, "too many codes were asked for this link or address")
    counters.count_failure(tx, key, now, restart=restart)


def _throttled(now: str, first_at: str, what: str) -> None:
    from workflow.engine.people.signin import _seconds_until

    seconds = _seconds_until(now, inputs.later(first_at, HOUR))
    raise Throttled(f"{what}; try again in {seconds} s", retry_after=seconds)


# -- the decision ---------------------------------------------------------------------------------------


def link_decide(store: Store, secret: str, *, code: str, decision: str, reason: str | None = None,
                seen: str | dict[str, str] | None = None, ip: str, user_agent: str | None = None,
                request_id: str | None = None) -> Event:
    """Approve or reject the current round's gate, or mark the role's task done (``done:ROLE``), as the
    link's signer, with the code e-mailed to them: the ordinary command, recorded with ``auth:
    email-link``, the address, the invitation, the code's delivery id, the digests shown (``seen``: the
    approval is bound to them, refused if stale), the client's address and user agent. A decision uses
    the link; the same ``request_id`` again returns the first decision's event."""
    if not isinstance(code, str) or not code.strip():
        raise NotPermitted("type the code e-mailed to you (ask for one first)")
    code = code.strip()
    shown = digests(seen)
    checked = store.write(lambda tx: _check_code(tx, secret, code, decision, request_id))
    if isinstance(checked, PhasegateError):
        raise checked  # the wrong try is counted (its transaction committed)
    row, command = checked
    person = external_person(row.email)
    args: dict[str, Any] = {"role": row.role}
    if command == APPROVE:
        args |= {"comment": inputs.text(reason, "the comment"), "deliverables": shown, "on_behalf_of": None}
    elif command == REJECT:
        args["reason"] = inputs.text(reason, "the reason", required=True)
    else:
        args |= {"note": inputs.text(reason, "the note"), "on_behalf_of": None}  # nobody delegates to a link
    evidence = {"email": row.email, "invitation": row.id, "code_delivery": row.code_delivery,
                "shown": shown, "ip": str(ip)[:64], "user_agent": None if user_agent is None else
                " ".join(str(user_agent).split())[:300]}

    def body(ctx: Context, tx: WriteTx) -> Event:
        now = ctx.now
        current = _find(tx, secret, now, used=command == DONE)
        if not _code_ok(current, code, now):
            raise NotPermitted("the code is no longer valid: ask for a new one")
        event = BODIES[COMMAND[command]].run(ctx._replace(evidence=evidence), tx, **args)
        used = {"used_seq": event.seq} if command != DONE else {}
        rows.change(tx, current.id, code_hash=None, code_expires_at=None, code_tries=0, **used)
        counters.forget_failures(tx, f"link-tries:{current.email}")
        return event

    fingerprint = {"command": COMMAND[command], "invitation": row.id, **args}
    return project_command(store, row.project, Identity(person, EMAIL_LINK), request_id, fingerprint, body)


def _code_ok(row: Any, code: str, now: str) -> bool:
    return (row.code_hash is not None and (row.code_expires_at or "") > now
            and credentials.same(row.code_hash, _code_hash(row.id, code)))


def _check_code(tx: WriteTx, secret: str, code: str, decision: str,
                request_id: str | None) -> tuple[Any, str] | PhasegateError:
    """(the invitation, the command) when the code is right; the refusal, with a wrong try counted, when
    it is not. A request id already answered passes (its first outcome is returned by the command)."""
    now = utcnow()
    row = _find(tx, secret, now, used=True, lock=True)
    command = decision_of(decision, row.role)
    if request_id is not None:
        prior = tx.dialect.prior_request(tx, inputs.text(request_id, "the request id", max_len=128) or "")
        if prior is not None and prior[0] == external_person(row.email):
            return row, command
    if row.used_seq is not None and command != DONE:
        raise LinkUnusable()
    key = f"link-tries:{row.email}"
    tried = counters.failures_locked(tx, key)
    restart = tried is not None and inputs.later(tried.first_at, HOUR) <= now
    if tried is not None and not restart and tried.failures >= int(limits.LINK_WRONG_CODES.default):
        _throttled(now, tried.first_at, "too many wrong codes for this address")
    if row.code_hash is None or (row.code_expires_at or "") <= now:
        return NotPermitted("no code is waiting for this link (none was sent, it expired, or it was used or "
                               "typed wrong too often): ask for a new one")
    if _code_ok(row, code, now):
        return row, command
    tries = row.code_tries + 1
    left = int(limits.LINK_CODE_TRIES.default) - tries
    rows.change(tx, row.id, code_tries=tries, **({"code_hash": None} if left <= 0 else {}))
    counters.count_failure(tx, key, now, restart=restart)
    if left <= 0:
        return NotPermitted("the code is wrong, and that was its last try: ask for a new one")
    return NotPermitted(f"the code is wrong ({left} {'try' if left == 1 else 'tries'} left)")


__all__ = ["link", "link_decide", "link_file", "link_send_code"]
