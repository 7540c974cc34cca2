"""The HTTP connection as uvicorn runs it, with the bounds uvicorn leaves out: a request's headers must
arrive in time and within a size, and a process holds a bounded number of connections.

Why a protocol subclass (``uvicorn.run(http=...)``), not settings or middleware: an ASGI app only
sees a request once its headers are complete, so nothing in the app can time them out or count
them; and uvicorn (0.3x-0.5x, httptools and h11 alike) has no header timeout. Its keep-alive
timer only runs between requests and any byte received cancels it, so a client sending one
byte a second holds a connection for ever; httptools keeps a header of any size in memory
(h11 stops at 16 KiB). Its ``--limit-concurrency`` answers beyond the bound in plain text; here
the same bound answers phasegate's ``busy`` error body with Retry-After.

- Headers: from the connection's opening, and again from each answer's end (when the client
  may send its next request, or still trickles the body the app did not read), the request's
  headers must be complete within ``header_seconds``; else 408 ``too_slow`` if anything
  arrived, and the connection is closed. More than ``HEADER_BYTES`` before the headers end:
  431 and closed.
- Connections: a request on a connection beyond ``max_connections`` open in this process is
  answered 503 ``busy`` (Retry-After) and its connection closed. Idle ones close themselves
  (uvicorn's keep-alive timeout, this header timeout), so the bound cannot be held for long
  by connections that send nothing.
- A body's own deadline and size are the app's business (:mod:`workflow.server.bodies`): there
  the refusal can be an answer with phasegate's error body.

Built on uvicorn's httptools protocol, the one its ``auto`` setting picks when httptools is
installed (``uvicorn[standard]``, a phasegate dependency).
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from workflow.domain import limits
from workflow.errors import Busy, PhasegateError, TooLarge, TooSlow
from workflow.server.settings import Settings

HEADER_BYTES = int(limits.HEADER_BYTES.default)
BUSY_RETRY_SECONDS = 1


@lru_cache(maxsize=1)
def _settings() -> Settings:
    """This worker's settings (``phasegate serve`` hands them over in the environment)."""
    return Settings.from_env()


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline, a header size bound and a connection bound."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = _settings()
        self.header_seconds = settings.header_seconds
        self.max_connections = settings.max_connections
        self.limit_concurrency = None  # uvicorn's own check answers in plain text; ours is below
        self.header_timer: asyncio.TimerHandle | None = None
        self.reading_headers = True  # the next bytes are (part of) a request's line and headers
        self.header_bytes = 0

    # -- the header deadline

    def _await_headers(self) -> None:
        self._stop_header_timer()
        self.header_timer = self.loop.call_later(self.header_seconds, self._headers_late)

    def _stop_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_late(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        if self.reading_headers and self.header_bytes:
            self._refuse(TooSlow(f"the request's headers did not arrive within {self.header_seconds:g} s"))
        else:
            self.transport.close()  # nothing begun (or the rest of a body nobody reads): just close

    # -- uvicorn's protocol, with the bounds

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_headers:
            self.header_bytes += len(data)
        super().data_received(data)
        if self.reading_headers and self.header_bytes > HEADER_BYTES and not self.transport.is_closing():
            self._refuse(TooLarge(f"the request's line and headers are longer than {HEADER_BYTES:,} bytes"),
                         status=431)

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        self.reading_headers, self.header_bytes = False, 0
        busy = len(self.connections) > self.max_connections
        self.app = _busy if busy else self.config.loaded_app
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_headers = True

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a request already read: it is answered next, no deadline for it
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._await_headers()

    # -- an answer written here, before (or instead of) the app

    def _refuse(self, error: PhasegateError, status: int | None = None) -> None:
        """Answer ``error`` with phasegate's error body and close (no request for the app to answer)."""
        from workflow.server.app import SECURITY_HEADERS

        body = json.dumps({"error": error.to_dict()}).encode()
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Content-Type": "application/json",
                   "Content-Length": str(len(body)), "Connection": "close"}
        head = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items())
        self.transport.write(STATUS_LINE[status or error.http_status] + head + b"\r\n" + body)
        self.transport.close()


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """The app for a request on a connection beyond the bound: 503 busy, and the connection closed."""
    from workflow.server.app import SecurityHeaders
    from workflow.server.bodies import refuse

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await refuse(scope, receive, send, Busy(
            "the server has as many connections open as it takes; try again shortly", BUSY_RETRY_SECONDS))

    await SecurityHeaders(answer)(scope, receive, send)
