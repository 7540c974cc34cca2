"""A graceful stop: SIGTERM while requests are in flight.

Many clients (tests/support/serverload.py) write at once, so at any moment requests are queued in
the server. On SIGTERM ``phasegate serve`` stops accepting connections, answers the
requests it already took, and exits 0 within a bound. Every request answered 2xx is in
the history; a request whose connection the stop broke was either applied once (its key's
outcome is stored) or not at all.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from support.serverload import check_server_history, join, set_up_clients, start
from support.servers import live_server

from workflow import Engine

pytestmark = pytest.mark.slow  # ~10 s a backend

CLIENTS = 24
STOP_SECONDS = 15.0  # SIGTERM to exit; in-flight requests take milliseconds


def test_sigterm_finishes_the_requests_in_flight_then_exits_0_and_keeps_every_answered_one(
        db_url: str, tmp_path: Path) -> None:
    workers = "1" if make_url(db_url).get_backend_name() == "sqlite" else "2"
    with Engine(db_url) as engine:
        with live_server(db_url, tmp_path / "server.log", "--workers", workers) as server:
            clients = set_up_clients(engine, server.url, CLIENTS, phases=200)
            for c in clients:
                c.retry_after_stop = False
            stop = threading.Event()
            start(clients, stop, 30, 5000)
            deadline = time.monotonic() + 30
            while sum(len(c.answers) for c in clients) < 150:
                assert time.monotonic() < deadline, "the clients were answered"
                time.sleep(0.02)
            stop.set()  # no client sends a new command from now on
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            refused_at = None
            while server.process.poll() is None and time.monotonic() < signalled + STOP_SECONDS:
                if refused_at is None:
                    try:
                        httpx.get(f"{server.url}/healthz", timeout=1)
                    except httpx.TransportError:
                        refused_at = time.monotonic()
                time.sleep(0.005)
            code = server.process.wait(timeout=max(0.1, signalled + STOP_SECONDS - time.monotonic()))
            stopped = time.monotonic() - signalled
            join(clients)
            assert code == 0, f"phasegate serve exited {code} on SIGTERM:\n{server.log_text()[-2000:]}"
        in_flight = [a for c in clients for a in c.answers if a.sent < signalled < a.answered]
        assert in_flight, "requests were in flight when the signal came"
        assert all(200 <= a.status < 300 for a in in_flight), "each was answered, not cut off"
        acked = check_server_history(engine, clients)
        unanswered = sum(c.unanswered is not None for c in clients)
    print(f"\n{workers} worker(s): stopped {stopped * 1000:.0f} ms after SIGTERM, {len(in_flight)} requests "
          f"in flight answered, {acked} answered commands all stored, {unanswered} cut off before the "
          f"server took them; new connections refused "
          f"{'after %.0f ms' % ((refused_at - signalled) * 1000) if refused_at else 'by the exit'}")
