"""Where notifications go and how their delivery stands: webhooks, each person's e-mail choice, the outbox.

Admins add and remove webhooks; a person chooses which notification e-mails they get (an
admin may choose for them); admins and auditors read the outbox and admins send a failed
notification again. Every change is an event on the system chain (``webhook.add``,
``webhook.remove``, ``notify.email``, ``notify.retry``) in the transaction that makes it,
and the state check replays the first three against the ``webhooks`` and
``notify_settings`` rows. A webhook's secret is never in an event, a listing or a log:
only a fingerprint of it (the first 12 hex digits of its sha256). Delivery itself is
:mod:`workflow.delivery`'s.

A webhook's URL is checked when it is added (:mod:`workflow.domain.notify.addresses`): http or https,
no user or password in it (it would sit on the record in clear), and a host that is a public
address or a name resolving only to public ones, unless ``allow`` (the networks of
``PHASEGATE_WEBHOOK_ALLOW``, read by the process adding it) lets it through. A name that does
not resolve now is taken: delivery checks the address it connects to, every time.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, or_, select, update

from workflow.domain import credentials, inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.identity import Identity, acting
from workflow.domain.notify import addresses
from workflow.domain.notify.addresses import Address, Network
from workflow.domain.notify.asks import KINDS
from workflow.domain.results import NotifySettings, OutboxEntry, WebhookInfo
from workflow.engine.people.accounts import account, require_admin
from workflow.errors import NotFound, RuleRefused, UsageError
from workflow.storage.chains import append_system_event
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.store import Store
from workflow.storage.tables import notify_settings as t_settings
from workflow.storage.tables import outbox as t_outbox
from workflow.storage.tables import webhooks as t_webhooks
from workflow.storage.transaction import ReadTx, WriteTx

FORMATS = ("json", "slack")
SECRET_MIN = 16  # a secret given by hand: long enough that its fingerprint on the record reveals nothing
SECRET_MAX = 200
LIST_MAX = 1000
ID_MAX = 2**31 - 1  # an outbox id is an INTEGER column (PostgreSQL's is 32 bits): larger ones name nothing


def fingerprint(secret: str) -> str:
    return credentials.secret_hash(secret)[:12]


def kinds_of(value: str | Sequence[str], what: str, *, everything: Any, nothing: Any = None) -> Any:
    """``all`` -> ``everything``, ``none`` -> ``nothing`` (when allowed), else the kinds named (sorted)."""
    given = value.split(",") if isinstance(value, str) else [str(k) for k in value]
    names = [k.strip() for k in given if k.strip()]
    if names == ["all"] or names == ["*"]:
        return everything
    if names == ["none"] and nothing is not None:
        return nothing
    if not names:
        raise UsageError(f"{what}: name the kinds ({', '.join(KINDS)}), or all"
                         + (", or none" if nothing is not None else ""))
    unknown = [k for k in names if k not in KINDS]
    if unknown:
        raise UsageError(f"{what}: {', '.join(inputs.shown(k) for k in unknown)} "
                         f"{'is not a kind' if len(unknown) == 1 else 'are not kinds'} of notification; "
                         f"use {', '.join(KINDS)}, or all")
    return sorted(set(names))


def _url(value: str, allow: Sequence[Network]) -> str:
    url = inputs.text(value, "the webhook's URL", required=True, max_len=2000, multiline=False) or ""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1/": an IPv6 host without its closing bracket
        raise UsageError(f"{inputs.shown(url)} is not an http:// or https:// URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise UsageError(f"{inputs.shown(url)} is not an http:// or https:// URL")
    if not url.isascii():
        raise UsageError(f"{inputs.shown(url)} is not ASCII: write an international name in its xn-- form "
                         f"and other characters %-encoded")
    if "[" in parts.netloc and ":" not in parts.hostname:  # "[v1.x]": a bracket holds an IPv6 address
        raise UsageError(f"{inputs.shown(url)} has a bracketed host that is not an IPv6 address")
    if "@" in parts.netloc:
        raise UsageError("a webhook's URL may not carry a user or password: it would be kept on the record "
                         "in clear; the receiver knows phasegate by the body's signature (the secret)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UsageError(f"{inputs.shown(url)} has a port that is not a number from 1 to 65535") from None
    for address in _addresses(parts.hostname, port):
        refused = addresses.refusal(address, allow, parts.hostname)
        if refused:
            raise UsageError(f"the webhook's host {refused}")
    return url


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to now (none when it does not resolve)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found]


def _addresses(host: str, port: int) -> list[Address]:
    """The host's address if it spells one, else what the name resolves to."""
    spelled = addresses.literal(host)
    return [spelled] if spelled is not None else resolve(host, port)


def add_webhook(store: Store, url: str, *, actor: str | Identity, events: str | Sequence[str] = "all",
                format: str = "json", secret: str | None = None,
                allow: Sequence[Network] = ()) -> tuple[WebhookInfo, str | None]:
    """A new webhook (admins) for the notifications of kinds ``events`` ("all": every kind).

    ``secret``: the HMAC key the receiver checks signatures with (at least 16 characters);
    None: a new random one, returned (shown once). ``allow``: the internal networks it may
    point into (``PHASEGATE_WEBHOOK_ALLOW``; by default only public addresses). Returns (the
    webhook, the secret made or None).
    """
    who = acting(actor)
    # Only an admin learns what a URL resolves to (and makes this server look a name up).
    store.read(lambda tx: require_admin(tx, who, "add webhooks"))
    url = _url(url, allow)
    kinds = kinds_of(events, "--events", everything=["*"])
    if format not in FORMATS:
        raise UsageError(f"the webhook's format must be {' or '.join(FORMATS)}, not {inputs.shown(format)}")
    made = None
    if secret is None:
        secret = made = "pgw_" + secrets.token_urlsafe(32)
    elif not SECRET_MIN <= len(secret) <= SECRET_MAX or any(c.isspace() or not c.isprintable()
                                                            for c in secret):
        raise UsageError(f"the webhook's secret must be {SECRET_MIN}-{SECRET_MAX} printable characters "
                         f"without spaces")

    def work(tx: WriteTx) -> WebhookInfo:
        tx.dialect.lock_system(tx)
        require_admin(tx, who, "add webhooks")
        hook_id, now = credentials.new_id("wh_"), utcnow()
        row = {"id": hook_id, "url": url, "kinds": _json_list(kinds), "secret": secret, "format": format,
               "active": True, "created_at": now, "created_by": who.person}
        tx.core(insert(t_webhooks).values(**row))
        append_system_event(tx, who, "webhook.add", {"webhook": hook_id, "url": url, "kinds": kinds,
                                                     "format": format, "secret_sha256": fingerprint(secret)})
        return _info(row)

    return store.write(work), made


def webhooks(store: Store, *, reader: str | Identity) -> list[WebhookInfo]:
    """Every webhook, removed ones too (admins), oldest first; secrets only as fingerprints."""
    who = acting(reader)

    def work(tx: ReadTx) -> list[WebhookInfo]:
        require_admin(tx, who, "list the webhooks")
        rows = tx.core(select(t_webhooks).order_by(t_webhooks.c.created_at, t_webhooks.c.id))
        return [_info(r._mapping) for r in rows]

    return store.read(work)


def remove_webhook(store: Store, webhook_id: str, *, actor: str | Identity) -> Event:
    """Stop sending to a webhook (admins): its row stays, inactive; its waiting notifications go dead."""
    who = acting(actor)
    webhook_id = inputs.text(webhook_id, "the webhook id", required=True, max_len=32, multiline=False) or ""

    def work(tx: WriteTx) -> Event:
        tx.dialect.lock_system(tx)
        require_admin(tx, who, "remove webhooks")
        row = tx.core(select(t_webhooks.c.active).where(t_webhooks.c.id == webhook_id)).first()
        if row is None:
            raise NotFound(f"there is no webhook {inputs.shown(webhook_id)}; `phasegate webhook list` "
                           f"shows them")
        if not row.active:
            raise RuleRefused(f"webhook {webhook_id} was removed already")
        tx.core(update(t_webhooks).where(t_webhooks.c.id == webhook_id).values(active=False))
        return append_system_event(tx, who, "webhook.remove", {"webhook": webhook_id})

    return store.write(work)


def notifications(store: Store, person: str | None = None, *, reader: str | Identity) -> NotifySettings:
    """Which notification e-mails ``person`` (default: the reader) gets (themself, or an admin)."""
    who = acting(reader)
    person = inputs.person(person or who.person)

    def work(tx: ReadTx) -> NotifySettings:
        if who.person != person:
            require_admin(tx, who, f"read {person}'s notification settings")
        account(tx, person)
        kinds = tx.core(select(t_settings.c.email_kinds).where(t_settings.c.person == person)).scalar()
        return NotifySettings(person, None if kinds is None else json.loads(kinds))

    return store.read(work)


def set_notifications(store: Store, person: str, email: str | Sequence[str], *,
                      actor: str | Identity) -> Event:
    """Choose which notification e-mails ``person`` gets: kinds, "all" or "none" (themself, or an admin)."""
    who, person = acting(actor), inputs.person(person)
    kinds: list[str] | None = kinds_of(email, "--email", everything=None, nothing=[])

    def work(tx: WriteTx) -> Event:
        tx.dialect.lock_system(tx)
        if who.person != person:
            require_admin(tx, who, f"choose {person}'s notification e-mails")
        account(tx, person)
        stored = None if kinds is None else _json_list(kinds)
        values = {"email_kinds": stored, "updated_at": utcnow()}
        changed = tx.core(update(t_settings).where(t_settings.c.person == person).values(**values))
        if changed.rowcount == 0:
            tx.core(insert(t_settings).values(person=person, calendar_key_hash=None, **values))
        return append_system_event(tx, who, "notify.email", {"person": person, "email_kinds": kinds})

    return store.write(work)


def outbox(store: Store, *, reader: str | Identity, failed: bool = False,
           limit: int = 50) -> list[OutboxEntry]:
    """The newest ``limit`` notifications (admins and auditors); ``failed``: dead, or failing and waiting."""
    who = acting(reader)
    limit = inputs.count(limit, "--limit", most=LIST_MAX) or 50
    o = t_outbox.c

    def work(tx: ReadTx) -> list[OutboxEntry]:
        rules.require_audit_reader(who.person, privileges_of(tx, who.person), "read the notifications")
        stmt = select(t_outbox).order_by(o.id.desc()).limit(limit)
        if failed:
            stmt = stmt.where(or_(o.status == "dead", (o.status == "pending") & o.last_error.is_not(None)))
        return [_entry(r) for r in tx.core(stmt)]

    return store.read(work)


def retry_notification(store: Store, entry_id: int, *, actor: str | Identity) -> Event:
    """Send a dead (or waiting) notification again now, with a fresh count of tries (admins)."""
    who = acting(actor)
    if not isinstance(entry_id, int) or isinstance(entry_id, bool) or entry_id < 1:
        raise UsageError(f"a notification's id is a positive whole number, not {inputs.shown(entry_id)}")
    o = t_outbox.c

    def work(tx: WriteTx) -> Event:
        tx.dialect.lock_system(tx)
        require_admin(tx, who, "send notifications again")
        row = None if entry_id > ID_MAX else tx.core(
            select(o.status, o.attempts, o.lease_until, o.kind, o.payload).where(o.id == entry_id)
        ).first()
        if row is None:
            raise NotFound(f"there is no notification {entry_id}; `phasegate notify list` shows them")
        if row.status == "delivered":
            raise RuleRefused(f"notification {entry_id} was delivered already")
        if row.kind in ("invite", "code") and row.payload is None:
            raise RuleRefused(f"notification {entry_id} carried an invitation's link or a one-time code, "
                              f"which phasegate does not keep: invite the address again, or send a new code")
        if row.status == "pending" and row.lease_until is not None and row.lease_until > utcnow():
            raise RuleRefused(f"notification {entry_id} is being sent right now (a worker holds it until "
                              f"{row.lease_until}); retrying it now would send it twice")
        tx.core(update(t_outbox).where(o.id == entry_id)
                .values(status="pending", attempts=0, next_attempt_at=utcnow(), lease_until=None))
        return append_system_event(tx, who, "notify.retry", {"notification": entry_id, "was": row.status,
                                                             "attempts": row.attempts})

    return store.write(work)


# -- rows as values ---------------------------------------------------------------------------------


def _info(row: Any) -> WebhookInfo:
    return WebhookInfo(row["id"], row["url"], json.loads(row["kinds"]), row["format"], bool(row["active"]),
                       row["created_at"], row["created_by"], fingerprint(row["secret"]))


def _entry(r: Any) -> OutboxEntry:
    return OutboxEntry(r.id, r.chain, r.seq, r.kind, json.loads(r.people), r.channel, r.target, r.status,
                       r.attempts, r.next_attempt_at, r.last_error, r.created_at, r.delivered_at)


def _json_list(kinds: list[str]) -> str:
    return json.dumps(kinds, separators=(",", ":"))
