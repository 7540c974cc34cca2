"""Running the server: uvicorn, one process or several workers, and a graceful stop.

On SIGTERM (or Ctrl-C) uvicorn stops accepting connections, lets the requests in
flight finish (up to ``GRACE_SECONDS``) and exits: a client whose request was answered
finds it in the history. A stop on SIGTERM is the normal end of a server, so it exits 0
(uvicorn re-raises the signal after its graceful stop, which would kill the process with
it: -15 to a supervisor such as systemd or Kubernetes, a failure). Each worker builds its
own app from the settings passed in the environment; SQLite allows one writer, so it is
served by one worker.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import replace
from typing import Any

from workflow.engine.people import passwords
from workflow.errors import UsageError
from workflow.server.settings import Settings
from workflow.settings import current, hand_to_workers

GRACE_SECONDS = 30


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    from workflow.storage import dialects
    from workflow.storage.database import default_url

    url = settings.db or current().db or default_url()
    if dialects.for_url(url).one_writer and workers > 1:
        raise UsageError("a SQLite database is served by one worker; use PostgreSQL for --workers above 1")
    settings = shared_among(settings, workers)
    hand_to_workers(settings.to_env())
    shown = f"[{host}]" if ":" in host else host
    print(
        f"phasegate serving http://{shown}:{port} (web app at /, API at /api/v1, {workers} worker"
        f"{'s' if workers != 1 else ''})",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn handles the signal itself (the graceful stop) and then raises it again to the handler
    # it found: let that handler be one that returns, so the command ends as a finished one.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        _run(uvicorn, host, port, workers)
    finally:
        signal.signal(signal.SIGTERM, previous)


def shared_among(settings: Settings, workers: int) -> Settings:
    """The settings each of ``workers`` runs with: password checks left to the default share the
    host's cores among the workers (each check holds a core and 64 MiB; two workers on two cores
    get one each, not two each)."""
    if settings.password_checks != 0:
        return settings
    return replace(settings, password_checks=max(1, passwords.cores() // workers))


def _stopped(_signum: int, _frame: object) -> None:
    """SIGTERM after uvicorn's graceful stop: nothing left to do."""


def _run(uvicorn: Any, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "workflow.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
        # uvicorn's httptools protocol with a header deadline and size, and the connection bound
        # answered with phasegate's error body (settings from the environment, as the app's).
        http="workflow.server.protocol:BoundedHttpTools",
    )
