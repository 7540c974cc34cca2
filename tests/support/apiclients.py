"""In-process clients of the HTTP API, and the table dump that shows a refused request changed nothing.

``api(url)`` runs the app with its lifespan (one Engine over ``url``) inside Starlette's
TestClient, always as a context manager so nothing leaks; ``serving(app)`` does the same for an
app made once with ``app_for`` (FastAPI readies its routes on an app's first request, ~0.1 s: a
test of many requests on fresh databases reuses one app, each lifespan opening the file anew). ``unchanged_dump`` is
``invariants.dump`` less the one column authentication itself writes: a token's last use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.invariants import dump
from workflow import Engine
from workflow.server.app import create_app
from workflow.server.settings import Settings
from workflow.storage.tables import tokens

PROXY_HEADER = "X-Forwarded-User"
# The SSO proxy is configured in every app these tests start, so its header is honoured only from
# 127.0.0.1 (TestClient's own address is "testclient").
PROXIED = {"proxy_header": PROXY_HEADER, "trusted_proxies": ("127.0.0.1/32",)}


def app_for(url: str, **settings: Any) -> FastAPI:
    """The app over ``url``; its delivery worker is off unless a test turns it on (``deliver=True``):
    a dump taken around a request must not see a notification's delivery land meanwhile."""
    return create_app(Settings(db=url, access_log=False, **{**PROXIED, "deliver": False, **settings}))


@contextlib.contextmanager
def serving(app: FastAPI, *, client: tuple[str, int] = ("testclient", 50000)) -> Iterator[TestClient]:
    with TestClient(app, client=client, follow_redirects=False) as test_client:
        yield test_client


@contextlib.contextmanager
def api(
    url: str, *, client: tuple[str, int] = ("testclient", 50000), **settings: Any
) -> Iterator[TestClient]:
    with serving(app_for(url, **settings), client=client) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unchanged_dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, less ``tokens.last_used_at`` (written when a token is shown, at most
    once a minute, whatever the request then asks)."""
    out = dump(engine)
    last_used = list(tokens.columns).index(tokens.c.last_used_at)
    out["tokens"] = [row[:last_used] + row[last_used + 1 :] for row in out["tokens"]]
    return out


def error_of(response: Any) -> dict[str, Any]:
    """The refusal's ``error`` object, after checking the body is exactly ``{"error": {...}}``."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error.get("kind"), str) and isinstance(error.get("message"), str), body
    assert error["message"].strip(), "a refusal says why in a sentence"
    return error
