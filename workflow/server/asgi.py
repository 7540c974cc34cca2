"""The base of phasegate's middleware: plain ASGI, for HTTP requests only.

Not ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs the rest of the app
in a task of its own and passes the response through memory streams, a noticeable part of a
small request's time. Anything but an HTTP request (the lifespan) passes straight through.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HttpMiddleware:
    """Wraps ``app``; a subclass's :meth:`http` sees every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
