"""Rebuilding the system chain from its events alone: which template versions were published, who
holds which grant, the accounts, tokens, webhooks, e-mail choices and calendar keys.

The system chain's counterpart of :mod:`workflow.domain.audit.replay` (a project's), with the
same rules: replay follows what each event recorded, and a value an older phasegate did not
record is :data:`~workflow.domain.audit.replay.UNRECORDED`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from workflow.domain.audit.events import SYSTEM_CHAIN
from workflow.domain.audit.replay import UNRECORDED, Recorded, step_or_refuse, unreadable


class Published(NamedTuple):
    """A template version as its ``template.publish`` event recorded it (a ``templates`` row)."""

    sha256: str
    title: str | None
    by: str
    seq: int


class Granted(NamedTuple):
    """A grant as its ``grant`` event recorded it (a ``grants`` row)."""

    by: str
    seq: int


class Account(NamedTuple):
    """An account as the ``user.*`` events left it (a ``people`` row)."""

    name: str | None
    email: str | None
    active: bool
    has_password: bool
    password_sha256: Any  # the fingerprint of its password hash (None: none; UNRECORDED: an older event)
    seq: int  # the event that last changed it


class Token(NamedTuple):
    """An API token as ``token.create`` and ``token.revoke`` left it (a ``tokens`` row)."""

    person: str
    name: str | None
    expires_at: str | None
    revoked: bool
    secret_hash: Any  # the sha256 of its secret, as the row keeps it (UNRECORDED: an older event)
    seq: int


class Webhook(NamedTuple):
    """A webhook as ``webhook.add`` and ``webhook.remove`` left it (a ``webhooks`` row)."""

    url: str
    kinds: tuple[str, ...]
    format: str
    active: bool
    by: str
    secret_sha256: str  # the fingerprint the event recorded (never the secret)
    seq: int


class EmailChoice(NamedTuple):
    """A person's notification e-mails as ``notify.email`` left them (a ``notify_settings`` row;
    ``calendar.key`` makes the row too, choosing nothing: every kind), and their calendar feed's key."""

    kinds: tuple[str, ...] | None
    calendar_key: Any  # the sha256 of the feed's key (None: no feed; UNRECORDED: an older event)
    seq: int


class Delegated(NamedTuple):
    """A delegation as ``delegate`` and ``delegate.end`` left it (a ``delegations`` row)."""

    person: str
    to: str
    starts_on: str
    until: str
    roles: tuple[str, ...]
    project: str | None
    reason: str | None
    by: str
    at: str
    ended_at: str | None
    ended_by: str | None
    made: int  # the delegate event (the row's seq)
    seq: int  # the event that last changed it


class SystemReplay:
    """The system chain applied event by event: every template version published, every grant
    held, every account, API token, webhook, e-mail choice and delegation as its events left it.

    What the ``templates``, ``grants``, ``people``, ``tokens``, ``webhooks`` and
    ``notify_settings`` tables must hold: a grant
    row no event granted is someone making themselves admin with SQL; a token row no event
    created, someone giving themselves a way in; a webhook row whose URL no event recorded,
    someone sending everybody's notifications elsewhere.
    """

    def __init__(self) -> None:
        self.seq = 0
        self.head_hash = ""
        self.templates: dict[tuple[str, int], Published] = {}  # (key, version) ->
        self.grants: dict[tuple[str, str], Granted] = {}  # (person, privilege) ->
        self.people: dict[tuple[str], Account] = {}  # (login,) ->
        self.tokens: dict[tuple[str], Token] = {}  # (id,) ->
        self.webhooks: dict[tuple[str], Webhook] = {}  # (id,) ->
        self.email_choices: dict[tuple[str], EmailChoice] = {}  # (person,) ->
        self.delegations: dict[tuple[str], Delegated] = {}  # (id,) ->

    def apply(self, e: Recorded) -> None:
        """Apply one event (the next of the chain); :class:`Unreplayable` if it cannot be."""
        step = SystemReplay.STEPS.get(e.action)
        step_or_refuse(SYSTEM_CHAIN, self.seq + 1, e, step is not None)
        try:
            step(self, e, e.data)  # type: ignore[misc]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise unreadable(SYSTEM_CHAIN, e, exc) from None
        self.seq, self.head_hash = e.seq, e.hash

    def _publish(self, e: Recorded, d: dict[str, Any]) -> None:
        ref = d["template"]
        published = Published(ref["sha256"], d.get("title"), e.actor, e.seq)
        self.templates[(ref["key"], ref["version"])] = published

    def _grant(self, e: Recorded, d: dict[str, Any]) -> None:
        self.grants[(d["person"], d["privilege"])] = Granted(e.actor, e.seq)

    def _revoke(self, e: Recorded, d: dict[str, Any]) -> None:
        self.grants.pop((d["person"], d["privilege"]), None)

    def _user_add(self, e: Recorded, d: dict[str, Any]) -> None:
        self.people[(d["person"],)] = Account(d.get("name"), d.get("email"), True, False, None, e.seq)

    def _user_change(self, e: Recorded, d: dict[str, Any]) -> None:
        key = (d["person"],)
        account = self.people[key]
        if e.action == "user.password":
            self.people[key] = account._replace(has_password=True, seq=e.seq,
                                                password_sha256=d.get("password_sha256", UNRECORDED))
        else:
            self.people[key] = account._replace(active=e.action == "user.enable", seq=e.seq)

    def _token_create(self, e: Recorded, d: dict[str, Any]) -> None:
        self.tokens[(d["token"],)] = Token(d["person"], d.get("name"), d.get("expires_at"), False,
                                           d.get("secret_sha256", UNRECORDED), e.seq)

    def _token_revoke(self, e: Recorded, d: dict[str, Any]) -> None:
        key = (d["token"],)
        self.tokens[key] = self.tokens[key]._replace(revoked=True, seq=e.seq)

    def _webhook_add(self, e: Recorded, d: dict[str, Any]) -> None:
        self.webhooks[(d["webhook"],)] = Webhook(d["url"], tuple(d["kinds"]), d["format"], True, e.actor,
                                                 d["secret_sha256"], e.seq)

    def _webhook_remove(self, e: Recorded, d: dict[str, Any]) -> None:
        key = (d["webhook"],)
        self.webhooks[key] = self.webhooks[key]._replace(active=False, seq=e.seq)

    def _notify_email(self, e: Recorded, d: dict[str, Any]) -> None:
        kinds, key = d["email_kinds"], (d["person"],)
        before = self.email_choices.get(key)
        self.email_choices[key] = EmailChoice(None if kinds is None else tuple(kinds),
                                              None if before is None else before.calendar_key, e.seq)

    def _calendar_key(self, e: Recorded, d: dict[str, Any]) -> None:
        key = (d["person"],)
        before = self.email_choices.get(key)
        self.email_choices[key] = EmailChoice(None if before is None else before.kinds,
                                              d.get("key_sha256", UNRECORDED), e.seq)

    def _delegate(self, e: Recorded, d: dict[str, Any]) -> None:
        self.delegations[(d["delegation"],)] = Delegated(
            d["person"], d["to"], d["starts_on"], d["until"], tuple(d["roles"]), d["project"], d["reason"],
            e.actor, e.at, None, None, e.seq, e.seq)

    def _delegate_end(self, e: Recorded, d: dict[str, Any]) -> None:
        key = (d["delegation"],)
        self.delegations[key] = self.delegations[key]._replace(ended_at=e.at, ended_by=e.actor, seq=e.seq)

    STEPS: ClassVar[dict[str, Callable[[SystemReplay, Recorded, dict[str, Any]], None]]] = {
        "template.publish": _publish,
        "grant": _grant,
        "revoke": _revoke,
        "user.add": _user_add,
        "user.enable": _user_change,
        "user.disable": _user_change,
        "user.password": _user_change,
        "token.create": _token_create,
        "token.revoke": _token_revoke,
        "calendar.key": _calendar_key,  # a feed's secret: its sha256, as the row keeps it
        "webhook.add": _webhook_add,
        "webhook.remove": _webhook_remove,
        "notify.email": _notify_email,
        "notify.retry": lambda self, e, d: None,
        "delegate": _delegate,
        "delegate.end": _delegate_end,  # the outbox is delivery's, not a cache of the record
    }
