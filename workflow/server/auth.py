"""Who is asking: the one place the server decides identity, from a verified credential only.

In order: an ``Authorization: Bearer`` API token; the single-sign-on proxy's header, only
when the request comes from a ``--trusted-proxy`` address (from anywhere else the header
is ignored); the web session's cookie, with its CSRF token required on every unsafe
method. A login name in a body, a query or any other header is never read. Every check
goes to the database, so a revoked token or a disabled account fails on its next request.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from workflow.domain import credentials
from workflow.domain.identity import Identity
from workflow.engine import Engine
from workflow.errors import BadRequest, NotPermitted, Unauthenticated
from workflow.server.settings import Settings

SESSION_COOKIE = "phasegate_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def peer_address(request: Request) -> str:
    """The address at the other end of the connection (a proxy's, behind one)."""
    return request.client.host if request.client is not None else ""


def client_address(request: Request) -> str:
    """The address of whoever sent the request: the peer's, or, when the peer is a
    ``--trusted-proxy``, the right-most ``X-Forwarded-For`` address that is not itself a trusted
    proxy. Each proxy appends the address it saw, so everything to the left of that one was
    written by the client and is not believed; from any other peer the header is ignored.
    (Sign-ins are slowed per client address: behind a proxy, the peer is everybody's.)"""
    settings, peer = settings_of(request), peer_address(request)
    if not settings.networks or not settings.trusts(peer, settings.networks):
        return peer
    hops = [hop.strip() for field in request.headers.getlist("x-forwarded-for") for hop in field.split(",")]
    for hop in reversed(hops):
        if not settings.trusts(hop, settings.networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:  # not an address: a proxy that is not one of ours wrote it
                return peer
    return peer


def identify(request: Request, *, csrf_from: str | None = None) -> Identity | None:
    """The identity the request's credential proves, or None when it carries none.

    ``csrf_from``: the CSRF token a web form sent (the API takes it from the header).
    """
    cached: Identity | None = getattr(request.state, "identity", None)
    if cached is not None:
        return cached
    engine, settings = engine_of(request), settings_of(request)
    identity: Identity | None = None
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be: Bearer TOKEN")
        identity = engine.identify_token(token.strip())
    elif (
        settings.proxy_header
        and settings.trusts(peer_address(request), settings.networks)
        and (logins := request.headers.getlist(settings.proxy_header))
        and (len(logins) > 1 or logins[0])
    ):
        if len(logins) > 1:  # which one the proxy meant is not ours to guess
            raise BadRequest(f"the request carries {settings.proxy_header} {len(logins)} times; the proxy "
                             "in front must send it exactly once, replacing whatever the client sent")
        identity = engine.identify_proxy(logins[0])
        if request.method not in SAFE_METHODS:
            refuse_cross_site(request)  # the proxy's own cookie would ride along on a forged form
    elif session_id := request.cookies.get(SESSION_COOKIE):
        identity, csrf = engine.identify_session(session_id)
        if request.method not in SAFE_METHODS:
            refuse_cross_site(request)
            sent = csrf_from if csrf_from is not None else request.headers.get(CSRF_HEADER, "")
            if not sent or not credentials.same(sent, csrf):
                raise NotPermitted(
                    "this form is from an earlier session or another site; reload the page and try again"
                    if csrf_from is not None
                    else f"the CSRF token is missing or wrong (send the session's token in {CSRF_HEADER})"
                )
        request.state.csrf = csrf
    request.state.identity = identity
    return identity


def identify_before_body(request: Request) -> Identity | None:
    """Who the request's credential names, before its body is read: :func:`identify` as for a safe
    request, since a form's CSRF token is in the body, not read yet. Nothing is kept on ``request``,
    so :func:`identify` still asks for the token once the form is read."""
    return identify(Request({**request.scope, "method": "GET", "state": {}}))


def refuse_cross_site(request: Request) -> None:
    """A browser's unsafe request from another site is refused (defence in depth beside the CSRF
    token; the only defence for a proxy's sign-in, which has no session token). Browsers say
    where a request comes from in ``Sec-Fetch-Site`` and ``Origin``; a client that is not a
    browser sends neither and cannot be made to forge a request."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if (site is not None and site not in ("same-origin", "none")) or (
        origin is not None and origin.split("://", 1)[-1] != host
    ):
        raise NotPermitted("a form from another site cannot act here; use phasegate's own pages")


# The two credentials as the OpenAPI document names them, so a client (and the schema tests) know
# how to authenticate. They only describe: identify() reads the request itself.
BEARER = HTTPBearer(
    scheme_name="token",
    auto_error=False,
    description="an API token (`phasegate token create`, POST /me/tokens)",
)
SESSION = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    auto_error=False,
    description=f"the web session (POST /me/session); unsafe methods also need {CSRF_HEADER}",
)


def current_identity(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    _session: Annotated[str | None, Security(SESSION)] = None,
) -> Identity:
    identity = identify(request)
    if identity is None:
        raise Unauthenticated(
            "sign in first: send Authorization: Bearer TOKEN (see `phasegate token create`)"
        )
    return identity


async def engine_dependency(request: Request) -> Engine:
    """The app's Engine, for ``EngineDep``: ``async`` because FastAPI runs a plain ``def``
    dependency in its thread pool, a hand-off to another thread on every request for what is
    an attribute read."""
    return engine_of(request)


CurrentIdentity = Annotated[Identity, Depends(current_identity)]
EngineDep = Annotated[Engine, Depends(engine_dependency)]
