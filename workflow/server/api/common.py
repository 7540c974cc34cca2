"""What the endpoints share: the event a write answers with, the headers that shape a write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from workflow.domain.audit.events import Event
from workflow.domain.inputs import event_number
from workflow.errors import ALL_KINDS, PreconditionFailed, UsageError, kinds_answered_with

if TYPE_CHECKING:
    Kind = str
else:
    Kind = Literal[ALL_KINDS]  # the error classes' kinds, declared once on the classes


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
    warnings: list[str] | None = Field(
        default=None, description="a staffing change's (create with a team, assign, unassign): each "
        "remaining gate the team can no longer sign, why, and the smallest fix (GET /projects/{code}/check); "
        "a warning, not a refusal: the change is made")


class ErrorDetail(BaseModel):
    """One refusal: ``kind`` for programs, ``message`` (the CLI's sentence) for people."""

    kind: Kind = Field(description="what kind of refusal (every class in workflow/errors.py names its own)")
    message: str
    blockers: list[str] | None = Field(default=None, description="what stops a refused move")
    problems: list[dict[str, Any]] | None = Field(default=None, description="each problem of the input")


class ErrorOut(BaseModel):
    """Every error's body (product.md's ``{"error": {"kind", "message", ...}}``)."""

    error: ErrorDetail


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut, "description": f"{_MEANING[status]} "
                     f"(kind: {', '.join(kinds_answered_with(status))})"} for status in statuses}


# What each status means to a client; the kinds it carries come from the error classes.
_MEANING = {
    400: "the body is not JSON, or a header that must come once came twice",
    401: "no valid credential",
    403: "the person may not do this, or a session's CSRF token is missing",
    404: "no such project, template, role, person or token",
    408: "the request's headers or body did not arrive in time",
    409: "refused by a rule, a conflict, or a broken audit trail",
    412: "If-Match: the project moved on since it was read",
    413: "the body is larger than this endpoint accepts",
    422: "bad input",
    410: "a signing link that is unknown, expired, revoked or used (it says nothing of the project)",
    429: "too many failed sign-ins, or codes asked or mistyped for a signing link: wait Retry-After seconds",
    503: "the database cannot be used, or the server is at a bound it keeps: every database connection, "
         "password check, template check, export slot or connection in use (busy, with Retry-After)",
}
# Documented on every operation of /api/v1, so a client (and the schema tests) know every answer.
ERRORS = _errors(400, 401, 403, 404, 408, 409, 413, 422, 503)
# Only the project writes read If-Match; only the sign-in is throttled.
MOVED_ON = _errors(412)
THROTTLED = _errors(429)
# Only a signing link's answers (issue 24).
GONE = _errors(410)


Link = tuple[str, str, dict[str, Any]] | tuple[str, str, dict[str, Any], dict[str, Any]]


def links(status: int, /, **targets: Link) -> dict[int | str, dict[str, Any]]:
    """OpenAPI links from one answer to the operations it makes possible (name -> (method, path,
    parameters[, body])): a client, and the stateful schema test, follow them from a list or a
    create to what can be done next."""
    out = {}
    for name, (method, path, parameters, *body) in targets.items():
        pointer = ("/api/v1" + path).replace("~", "~0").replace("/", "~1")
        out[name] = {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}
        if body:
            out[name]["requestBody"] = body[0]
    return {status: {"links": out}}


def event_out(event: Event) -> dict[str, Any]:
    return event.to_dict()


def event_response(event: Event, status_code: int = 200) -> Response:
    """A write's answer, its event already as JSON.

    FastAPI validates what a plain ``def`` endpoint returns against its response model in its
    thread pool: one more hand-off to another thread per request (~0.3 ms of CPU on the 2-core
    benchmark machine, on the hot path of every project write). A Response is sent as it is;
    the schema tests (tests/server/api/test_http_schema.py) hold the body to ``EventOut``.
    """
    return JSONResponse(event.to_dict(), status_code=status_code)


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=128,
    description="the command's request id: a retry with the same key is answered with the first outcome")]
IfMatch = Annotated[str | None, Header(
    alias="If-Match", max_length=40,
    description='the last event of the project you saw, `"SEQ"` (its ETag): 412 if another came since')]


def expected_seq(if_match: str | None) -> int | None:
    """``If-Match: "12"`` -> 12 (``*`` or absent: any)."""
    if if_match is None or if_match.strip() == "*":
        return None
    number = event_number(if_match.strip().removeprefix("W/").strip('"'))
    if number is None:
        raise UsageError('If-Match must be the project\'s ETag, a quoted event number such as "12"')
    return number


def etag(seq: int) -> str:
    return f'"{seq}"'


def command(request: Request, action: str) -> None:
    """Name the command for the metrics (commands by action and outcome)."""
    request.state.action = action


def precondition_failed(code: str) -> PreconditionFailed:
    return PreconditionFailed(f"project {code} has moved on since it was read; read it again before acting")
