"""What the endpoints share: the event a write answers with, the headers that shape a write."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Request
from pydantic import BaseModel

from workflow.domain.events import Event
from workflow.errors import PreconditionFailed, UsageError


class EventOut(BaseModel):
    """An audit event as ``--json`` prints it (product.md's history event fields)."""

    seq: int
    at: str
    actor: str
    auth: str
    action: str
    project: str | None
    chain: str
    phase: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


def event_out(event: Event) -> dict[str, Any]:
    return event.to_dict()


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]


def expected_seq(if_match: str | None) -> int | None:
    """``If-Match: "12"`` -> 12 (``*`` or absent: any)."""
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise UsageError('If-Match must be the project\'s ETag, a quoted event number such as "12"')
    return int(text)


def etag(seq: int) -> str:
    return f'"{seq}"'


def command(request: Request, action: str) -> None:
    """Name the command for the metrics (commands by action and outcome)."""
    request.state.action = action


def precondition_failed(code: str) -> PreconditionFailed:
    return PreconditionFailed(f"project {code} has moved on since it was read; read it again before acting")
