"""The FastAPI app: one Engine per process, the middleware, the routers.

Every worker is stateless: the database is the only shared state, so any number of
workers and hosts can serve one PostgreSQL database behind a load balancer (SQLite: one
worker on one host).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from workflow.engine import Engine
from workflow.engine.people import passwords
from workflow.errors import INTERNAL
from workflow.server import checks, docs, errors, observe
from workflow.server.api import TAGS as API_TAGS
from workflow.server.api import router as api_router
from workflow.server.asgi import HttpMiddleware
from workflow.server.background import Deliverer, Ticker
from workflow.server.bodies import BoundedBodies
from workflow.server.lean import LeanCommands
from workflow.server.settings import Settings
from workflow.server.web import STATIC
from workflow.server.web import router as web_router
from workflow.server.web.session import SignInFirst, to_sign_in

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Phasegate(FastAPI):
    """FastAPI, with the project commands' bearer-token requests served before it by ``lean``
    (lean.py): outside FastAPI's and phasegate's middleware, which it does the work of itself
    (the body's bounds, the security headers, the metrics and the access log, a 500 on a bug)."""

    lean: LeanCommands

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await self.lean(self, scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Phasegate:
    """The app for ``settings`` (default: from the environment ``phasegate serve`` set up)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or Engine(settings.db, pool_size=settings.pool_size,
                                              pool_wait=settings.pool_wait)
        passwords.bound(settings.password_checks)
        ticker = Ticker(app.state.engine, settings.tick_seconds).start()
        deliverer = Deliverer(app.state.engine, settings.deliver, allow=settings.webhook_networks).start()
        try:
            yield
        finally:
            deliverer.stop()
            ticker.stop()
            checks.CHECKER.stop()
            if engine is None:
                app.state.engine.close()

    app = Phasegate(
        title="phasegate",
        version="1",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        openapi_tags=API_TAGS,
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN: docs.py serves it from the package
        redoc_url=None,
    )
    app.state.settings = settings
    app.lean = LeanCommands()
    errors.install(app)
    app.add_exception_handler(Exception, server_error)
    app.add_middleware(BoundedBodies, body_seconds=settings.body_seconds)  # inside Observe: refusals logged
    observe.install(app)
    app.include_router(api_router)
    app.include_router(docs.router)
    app.include_router(web_router)
    app.add_exception_handler(SignInFirst, to_sign_in)
    # Only the static files are compressed: a compressed page that holds a CSRF token next to
    # text the request chose would leak the token to a length-measuring attacker (BREACH).
    app.mount("/static", GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=512), name="static")

    app.add_middleware(SecurityHeaders)
    return app


# A client's signing link (/link/SECRET), its downloads too: the secret never leaves in a Referer (a
# downloaded file's host, a link in it), and no page or file of it is kept by a cache or the browser.
LINK_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


_SECURITY_RAW, _LINK_RAW = _raw(SECURITY_HEADERS), _raw(LINK_HEADERS)
_LINK_NAMES = {name for name, _value in _LINK_RAW}


def headed(path: str, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An answer's raw ``headers`` for a request to ``path``, with ``SECURITY_HEADERS`` and a
    ``Cache-Control`` where it set none of its own, and ``LINK_HEADERS`` under ``/link/``."""
    out = list(headers)
    have = {name.lower() for name, _value in out}
    out += [header for header in _SECURITY_RAW if header[0] not in have]
    if b"cache-control" not in have:
        kept = b"public, max-age=86400" if path.startswith("/static/") else b"no-store"
        out.append((b"cache-control", kept))
    if path.startswith("/link/"):
        out = [header for header in out if header[0].lower() not in _LINK_NAMES] + _LINK_RAW
    return out


class SecurityHeaders(HttpMiddleware):
    """Every answer :func:`headed`."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = headed(path, message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, sending)


def server_error(request: Request, exc: Exception) -> Response:
    """The answer to a failure nobody foresaw (a bug): the error body, and the headers every answer has.

    Starlette's ``ServerErrorMiddleware`` sends it from outside every other middleware, so the
    security headers and ``Cache-Control`` are set here; the exception itself is logged by the
    server, and the answer says nothing of it.
    """
    body = errors.error_body(INTERNAL, "the server failed to answer this request; it has been logged")
    link = LINK_HEADERS if request.url.path.startswith("/link/") else {}
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", **link}
    return JSONResponse(body, status_code=500, headers=headers)
