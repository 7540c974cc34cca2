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

import contextlib
import signal
import socket
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
    # uvicorn handles the signal itself (the graceful stop) and then raises it again to the handler
    # it found: let that handler be one that returns, so the command ends as a finished one.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        _run(uvicorn, host, port, workers)
    finally:
        signal.signal(signal.SIGTERM, previous)


def announce(host: str, port: int, workers: int) -> None:
    """The line that says the server is there: written once it accepts connections, so whoever
    connects on reading it is answered (a port of 0 is shown as the one the system chose)."""
    shown = f"[{host}]" if ":" in host else host
    print(
        f"phasegate serving http://{shown}:{port} (web app at /, API at /api/v1, {workers} worker"
        f"{'s' if workers != 1 else ''})",
        file=sys.stderr,
        flush=True,
    )


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
    """``uvicorn.run``'s work, with the serving line written when connections are taken: one worker
    binds its socket in its start-up (the app built first), so the line follows that start-up;
    several share a socket this process binds first, so the line follows the first answer on it."""
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
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
    if workers > 1:
        sock = config.bind_socket()
        bound = sock.getsockname()[1]

        class Supervising(Multiprocess):
            """uvicorn's supervisor, which writes the line when its first worker has started serving
            (asked in its own loop, which alone speaks to the workers over their pipes)."""

            announced = False

            def keep_subprocess_alive(self) -> None:
                super().keep_subprocess_alive()
                if not self.announced and any(_serving(p) for p in self.processes):
                    self.announced = True
                    announce(host, bound, workers)

        Supervising(config, sockets=[sock]).run()
        return

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and self.servers:  # listening: the line can be believed
                announce(host, self.servers[0].sockets[0].getsockname()[1], 1)

    server = Announcing(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE: the port taken, the app not built


def _serving(worker: Any) -> bool:
    """Whether a worker's server has started (uvicorn before 0.4x cannot say: its socket, bound by
    the supervisor, already listens, and a request waits in its queue for the first worker)."""
    is_ready = getattr(worker, "is_ready", None)
    return True if is_ready is None else bool(is_ready(timeout=1))
