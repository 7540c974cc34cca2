"""Watching the server: /healthz, /readyz, /metrics, and one JSON access-log line per request.

The access log (stderr) names the method, the route's path template (never the values in
the path or the query), the status, the duration and the person; nothing secret. The
metrics count commands by action and outcome and time requests per route.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import Message, Receive, Scope, Send

from workflow.errors import NotPermitted
from workflow.server.asgi import HttpMiddleware
from workflow.server.auth import engine_of, identify, peer_address, settings_of
from workflow.server.errors import UNAVAILABLE, log_unavailable

router = APIRouter(include_in_schema=False)


class Metrics:
    """One registry per app (several apps in one test process must not share counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "phasegate_request_seconds",
            "Request latency",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.commands = Counter(
            "phasegate_commands_total",
            "Commands by action and outcome",
            ["action", "outcome"],
            registry=self.registry,
        )


def route_of(scope: Mapping[str, Any]) -> str:
    """The path template that matched (``/api/v1/projects/{code}``): never the values in the path
    (``scope``: the request's, or the request itself)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        # a client's signing link is a secret: even an address no route matched is not written
        return "/link/{secret}" if scope["path"].startswith("/link/") else "unmatched"
    # An included router's route knows its own part of the path; the prefix comes from the request.
    inner = template.strip("/").split("/")
    outer = scope["path"].strip("/").split("/")
    prefix = outer[: max(0, len(outer) - len(inner))]
    return "/" + "/".join([*prefix, *inner])


class Observe(HttpMiddleware):
    """The metrics and the access-log line of every request."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # when the app fails before answering (the server then answers 500)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            record(scope, status, time.perf_counter() - started)


def record(scope: Scope, status: int, elapsed: float) -> None:
    """A request's metrics and its access-log line (the lean path records its own: lean.py)."""
    route, metrics = route_of(scope), scope["app"].state.metrics
    metrics.requests.labels(scope["method"], route, str(status)).observe(elapsed)
    state = scope.get("state") or {}
    action = state.get("action")
    if action is not None:
        outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
        metrics.commands.labels(action, outcome).inc()
    if scope["app"].state.settings.access_log:
        identity = state.get("identity")
        line = {
            "method": scope["method"],
            "path": route,
            "status": status,
            "ms": round(elapsed * 1000, 2),
            "person": None if identity is None else identity.person,
        }
        # One write a line: print() writes the text and its newline apart, so the lines of
        # several workers sharing one stderr could run into each other.
        sys.stderr.write(json.dumps(line) + "\n")
        sys.stderr.flush()


def install(app: FastAPI) -> None:
    app.state.metrics = Metrics()
    app.add_middleware(Observe)
    app.include_router(router)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> Response:
    """The database answers and its schema is this phasegate's."""
    try:
        engine_of(request).template_keys()
    except Exception as exc:  # any failure is "not ready": where the database is goes to the log only
        log_unavailable(request, str(exc)[:300])
        body = json.dumps({"status": "unavailable", "message": UNAVAILABLE})
        return Response(body, status_code=503, media_type="application/json")
    return Response('{"status":"ready"}', media_type="application/json")


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text: for admins, or from a configured address (a scraper)."""
    settings = settings_of(request)
    if not settings.trusts(peer_address(request), settings.metric_networks):
        identity = identify(request)
        if identity is None or "admin" not in engine_of(request).grants_of(identity.person):
            raise NotPermitted("the metrics are for admins, or for a scraper at a configured address")
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
