"""Every request's body, bounded before it is read: in size, and in the time it may take to arrive.

One piece of plain ASGI middleware that every route goes through. A body larger than the limit
of its path (``REQUEST_BYTES``; ``UPLOAD_BYTES`` or ``CHECKPOINT_BYTES`` where a file is uploaded)
is refused 413 ``too_large``: before a byte of it is read when its ``Content-Length`` says so,
else as soon as the bytes counted while it streams in (a chunked body has no length) pass the
limit. A body still arriving ``body_seconds`` after its request started is refused 408
``too_slow``. Either refusal closes the connection (``Connection: close``), so the rest of the
body is never read.

The refusal is this middleware's own answer, whatever the app then made of the cut-off body
(FastAPI reports any failure while reading a JSON body as a 400): the app's answer is dropped.

Not Starlette's ``RequestBodyLimitMiddleware`` (1.x): a length it refuses up front still runs
the route when the route does not read the body (its check sits in ``receive`` and in the
answer's start), its refusal is plain text rather than phasegate's error body, it leaves the
connection open for the rest of the body, and it has no deadline.
"""

from __future__ import annotations

import asyncio
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow import settings
from workflow.domain import limits
from workflow.errors import PhasegateError, TooLarge, TooSlow
from workflow.server.asgi import HttpMiddleware

#: What a file upload's form may add around the file (field names, boundaries, a CSRF token).
FORM_ROOM = 65_536

# The paths that take a file, and the most their body may be; every other path takes REQUEST_BYTES.
_TEMPLATE_UPLOAD = int(limits.UPLOAD_BYTES.default)
_CHECKPOINT_UPLOAD = int(limits.CHECKPOINT_BYTES.default) + FORM_ROOM
UPLOADS: dict[str, int] = {
    "/api/v1/templates": _TEMPLATE_UPLOAD,
    "/api/v1/templates/validate": _TEMPLATE_UPLOAD,
    "/templates/check": _TEMPLATE_UPLOAD,
    "/templates/publish": _TEMPLATE_UPLOAD,
    "/api/v1/audit/verify": _CHECKPOINT_UPLOAD,
    "/audit/verify": _CHECKPOINT_UPLOAD,
}


# A deliverable's version (the API's raw body, the page's form) and a file to prove: the file limit
# (PHASEGATE_MAX_FILE_MIB, read when the request comes) and the form's room around it.
FILE_UPLOADS = re.compile(r"(/api/v1)?/projects/[^/]+/deliverables/[^/]+|/api/v1/audit/prove")


def file_limit() -> int:
    """The most a deliverable's file may be, in bytes."""
    return settings.current().max_file_bytes or int(limits.DELIVERABLE_BYTES.default)


def most_for(path: str) -> int:
    """The largest body ``path`` accepts, in bytes."""
    if path in UPLOADS:
        return UPLOADS[path]
    if FILE_UPLOADS.fullmatch(path):
        return file_limit() + FORM_ROOM
    return int(limits.REQUEST_BYTES.default)


def too_large(path: str, most: int, length: int | None = None) -> TooLarge:
    """The refusal of a body past ``most`` (``length``: as its Content-Length announced); a file's
    in the words the Engine uses for a file too large."""
    if FILE_UPLOADS.fullmatch(path):
        mib = file_limit() / (1024 * 1024)
        return TooLarge(f"the file is larger than {mib:g} MiB, the most a deliverable may be; nothing was "
                        "stored (an operator can raise PHASEGATE_MAX_FILE_MIB)")
    if length is not None:
        return TooLarge(f"the request's body is {length:,} bytes; at most {most:,} bytes are accepted here")
    return TooLarge(f"the request's body is larger than {most:,} bytes, the most accepted here")


def announced_length(scope: Scope) -> int | None:
    """The ``Content-Length`` the request gave (None when it gave none, or nonsense: the server's
    parser refuses a malformed one before the app is called)."""
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)


class Cut(Exception):
    """Raised into the app from ``receive`` when its body is refused: the app stops reading it."""


class Bound:
    """One request's body bounds: its size, and its deadline from now (``body_seconds``)."""

    __slots__ = ("body_seconds", "complete", "deadline", "most", "path", "received", "refusal")

    def __init__(self, scope: Scope, body_seconds: float) -> None:
        self.path: str = scope["path"]
        self.most = most_for(self.path)
        self.body_seconds = body_seconds
        self.deadline = asyncio.get_running_loop().time() + body_seconds
        self.received = 0
        self.complete = False
        self.refusal: PhasegateError | None = None
        length = announced_length(scope)
        if length is not None and length > self.most:
            self.refusal = too_large(self.path, self.most, length)

    async def receive(self, receive: Receive) -> Message:
        """``receive``'s next message, counted and timed: :class:`Cut` once the body is refused."""
        if self.refusal is not None:
            raise Cut(str(self.refusal))
        if self.complete:  # the body is in; what is left to hear is a disconnect
            return await receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await receive()
        except TimeoutError:
            self.refusal = TooSlow(f"the request's body did not arrive within {self.body_seconds:g} s")
            raise Cut(str(self.refusal)) from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.received > self.most:
                self.refusal = too_large(self.path, self.most)
                raise Cut(str(self.refusal))
        return message


class BoundedBodies(HttpMiddleware):
    """The size and time bounds of every request's body (see the module's docstring)."""

    def __init__(self, app: ASGIApp, body_seconds: float) -> None:
        super().__init__(app)
        self.body_seconds = body_seconds

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        bound = Bound(scope, self.body_seconds)
        if bound.refusal is not None:
            await refuse(scope, receive, send, bound.refusal)
            return
        started = False

        async def receiving() -> Message:
            return await bound.receive(receive)

        async def sending(message: Message) -> None:
            nonlocal started
            if bound.refusal is not None and not started:
                return  # the app's answer to a body it could not read: the refusal goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except Exception:
            if bound.refusal is None or started:
                raise
        if bound.refusal is not None and not started:
            await refuse(scope, receive, send, bound.refusal)


async def refuse(scope: Scope, receive: Receive, send: Send, error: PhasegateError) -> None:
    """Answer ``error`` (the error body, or the error page for a person) and close the connection."""
    from workflow.server.errors import phasegate_error

    response = phasegate_error(Request(scope, receive), error)

    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)["Connection"] = "close"
        await send(message)

    await response(scope, receive, closing)
