"""Notifications: ``/webhooks`` (admins), ``/me/notifications`` (my e-mail choice), ``/notifications``
(the outbox: admins and auditors read it, admins send one again)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from workflow.domain.results import NotifySettings, OutboxEntry, WebhookInfo
from workflow.server.api.common import EventOut, command, event_out, links
from workflow.server.auth import CurrentIdentity, EngineDep, settings_of

router = APIRouter(tags=["notifications"])
# Kinds as a list or one text ("all", "none", "task,sign"); the engine says which are known.
Kinds = Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=16)] | Annotated[
    str, Field(max_length=200)]


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000)
    events: Kinds = Field(default="all", description='kinds of notification, or "all"')
    format: Literal["json", "slack"] = "json"
    secret: str | None = Field(default=None, max_length=200,
                               description="the signing secret (default: a new one, answered this once)")


class NewWebhookOut(BaseModel):
    id: str
    url: str
    kinds: list[str]
    format: str
    active: bool
    created_at: str
    created_by: str
    fingerprint: str
    secret: str | None = Field(default=None, description="the secret made for it, shown this once")


class EmailChoiceIn(BaseModel):
    email: Kinds = Field(description='kinds of notification, "all" or "none"')


@router.get("/webhooks", response_model=list[WebhookInfo])
def webhooks(who: CurrentIdentity, engine: EngineDep) -> list[WebhookInfo]:
    """Every webhook (admins); a secret only as its fingerprint."""
    return engine.webhooks(reader=who)


@router.post("/webhooks", status_code=201, response_model=NewWebhookOut,
             responses=links(201, remove=("delete", "/webhooks/{webhook_id}",
                                          {"webhook_id": "$response.body#/id"})))
def add_webhook(body: WebhookIn, request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """A new webhook (admins). Its URL must reach a public address unless the server's
    PHASEGATE_WEBHOOK_ALLOW lists the network (422 otherwise, with the reason)."""
    command(request, "webhook.add")
    info, made = engine.add_webhook(body.url, actor=who, events=body.events, format=body.format,
                                    secret=body.secret, allow=settings_of(request).webhook_networks)
    return {**info.to_dict(), "secret": made}


@router.delete("/webhooks/{webhook_id}", response_model=EventOut)
def remove_webhook(webhook_id: str, request: Request, who: CurrentIdentity,
                   engine: EngineDep) -> dict[str, Any]:
    """Stop posting to a webhook (admins); its notifications still waiting are not sent."""
    command(request, "webhook.remove")
    return event_out(engine.remove_webhook(webhook_id, actor=who))


@router.get("/me/notifications", response_model=NotifySettings)
def my_notifications(who: CurrentIdentity, engine: EngineDep) -> NotifySettings:
    """Which notification e-mails I get (``email_kinds`` null: every kind)."""
    return engine.notifications(reader=who)


@router.put("/me/notifications", response_model=EventOut)
def choose_notifications(body: EmailChoiceIn, request: Request, who: CurrentIdentity,
                         engine: EngineDep) -> dict[str, Any]:
    """Choose which notification e-mails I get: comma-separated kinds, `all` or `none`."""
    command(request, "notify.email")
    return event_out(engine.set_notifications(who.person, body.email, actor=who))


@router.get("/notifications", response_model=list[OutboxEntry])
def outbox(who: CurrentIdentity, engine: EngineDep, failed: bool = False,
           limit: int = Query(default=50, ge=1, le=1000)) -> list[OutboxEntry]:
    """The newest notifications and how their delivery stands (admins and auditors)."""
    return engine.outbox(reader=who, failed=failed, limit=limit)


@router.post("/notifications/{entry_id}/retry", response_model=EventOut)
def retry(entry_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, who: CurrentIdentity,
          engine: EngineDep) -> dict[str, Any]:
    """Send a dead or waiting notification again now (admins)."""
    command(request, "notify.retry")
    return event_out(engine.retry_notification(entry_id, actor=who))
