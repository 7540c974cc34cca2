"""kill -9 of a server under load: nothing a client was told is lost, nothing is applied twice.

Eight clients (tests/support/serverload.py), each with its own project and its own people's
tokens, write over keep-alive HTTP with an ``Idempotency-Key`` on every command to a real
``phasegate serve``. While they write:

- PostgreSQL, ``--workers 2``: one uvicorn worker process is killed with SIGKILL, again
  and again; uvicorn's supervisor starts a new one in its place (it checks its workers
  every half second) while the other worker goes on serving.
- SQLite, one worker: the whole server is killed with SIGKILL and started again on the
  same port.

A client whose connection breaks sends the same request again with the same key until it
is answered. Afterwards every request answered 2xx has its event in the history, each
client's chain holds exactly one event per answered key, every chain verifies, every
project's state equals the replay of its history, and nobody was answered 5xx.
"""

from __future__ import annotations

import os
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

pytestmark = pytest.mark.slow  # ~30 s a backend

CLIENTS = 8
KILLS = 3
PHASES = 300  # more than the clients can walk in the time: nobody finishes
LOAD_SECONDS = 25.0  # the clients stop by then, or after LIMIT commands each
LIMIT = 2000


def workers_of(pid: int) -> list[int]:
    """The uvicorn worker processes under the server's supervisor (not multiprocessing's helpers)."""
    out = []
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in map(int, children):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            out.append(child)
    return out


def wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {seconds:g} s"
        time.sleep(0.05)


def answered(clients: list, since: int) -> bool:  # type: ignore[type-arg]
    return sum(len(c.answers) for c in clients) >= since


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_killing_a_worker_under_load_loses_no_answered_request_and_applies_none_twice(
        db_url: str, tmp_path: Path) -> None:
    """PostgreSQL, two workers: SIGKILL one worker at a time under 8 clients' writes."""
    if make_url(db_url).get_backend_name() == "sqlite":
        pytest.skip("SQLite is served by one worker: see the test that kills the whole server")
    with Engine(db_url) as engine:
        with live_server(db_url, tmp_path / "server.log", "--workers", "2",
                         "--tick-every", "0") as server:
            wait_for(lambda: len(workers_of(server.process.pid)) == 2, 30, "two workers are up")
            clients = set_up_clients(engine, server.url, CLIENTS, PHASES)
            stop = threading.Event()
            start(clients, stop, LOAD_SECONDS, LIMIT)
            try:
                killed = []
                for k in range(KILLS):
                    wait_for(lambda k=k: answered(clients, 100 * (k + 1)), 20, "the clients were answered")
                    pids = workers_of(server.process.pid)
                    assert len(pids) == 2, f"uvicorn keeps two workers (has {pids})"
                    victim = pids[k % 2]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                    # uvicorn's supervisor sees the dead worker within half a second and starts another.
                    wait_for(lambda v=victim: (len(p := workers_of(server.process.pid)) == 2 and v not in p),
                             20, "uvicorn replaced the killed worker")
                before = sum(len(c.answers) for c in clients)
                wait_for(lambda: answered(clients, before + 100), 20, "the clients were answered after the kills")
            finally:
                stop.set()
                join(clients)
            assert server.process.poll() is None, "the supervisor outlived its workers' deaths"
            assert set(killed).isdisjoint(workers_of(server.process.pid))
        acked = check_server_history(engine, clients)
    broken = sum(c.broken for c in clients)
    retried = sum(1 for c in clients for a in c.answers if a.tries > 1)
    assert acked > 300
    print(f"\nPostgreSQL, 2 workers: {KILLS} workers killed, {acked} answered commands all stored once, "
          f"{broken} broken connections, {retried} commands answered on a retry")


def test_killing_the_sqlite_server_under_load_and_starting_it_again_loses_no_answered_request(
        db_url: str, tmp_path: Path) -> None:
    """SQLite, one worker: SIGKILL the whole server under 8 clients' writes, start it again."""
    if make_url(db_url).get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL runs several workers: see the test that kills one of them")
    from support.servers import free_port

    port = free_port()
    with Engine(db_url) as engine:
        url = f"http://127.0.0.1:{port}"
        clients = set_up_clients(engine, url, CLIENTS, PHASES)
        stop = threading.Event()
        started = False
        try:
            for k in range(KILLS):
                with live_server(db_url, tmp_path / f"server-{k}.log", "--tick-every", "0",
                                 port=port) as server:
                    assert server.url == url
                    if not started:
                        start(clients, stop, LOAD_SECONDS, LIMIT)
                        started = True
                    before = sum(len(c.answers) for c in clients)
                    wait_for(lambda b=before: answered(clients, b + 100), 20, "the clients were answered")
                    server.process.send_signal(signal.SIGKILL)
                    server.process.wait()
                    assert server.process.returncode == -signal.SIGKILL
            with live_server(db_url, tmp_path / "server-last.log", "--tick-every", "0", port=port):
                before = sum(len(c.answers) for c in clients)
                wait_for(lambda: answered(clients, before + 100), 20, "the clients were answered after the kills")
                stop.set()
                join(clients)
        finally:
            stop.set()
            if started:
                join(clients)
        assert not ready(url)
        acked = check_server_history(engine, clients)
    broken = sum(c.broken for c in clients)
    retried = sum(1 for c in clients for a in c.answers if a.tries > 1)
    assert acked > 300
    print(f"\nSQLite, 1 worker: the server killed {KILLS} times, {acked} answered commands all stored once, "
          f"{broken} broken connections, {retried} commands answered on a retry")
