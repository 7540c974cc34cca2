"""``phasegate serve`` says "serving http://…" only once it accepts connections (issue 21): a script or
a person that connects as soon as the line appears is answered, with one worker and with several."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from support.servers import PYTHONPATH, free_port

from workflow import Engine

pytestmark = pytest.mark.slow  # a real `phasegate serve` process, started and stopped


def first_line(process: subprocess.Popen[bytes], seconds: float = 60) -> str:
    """The first line the server writes to stderr, as soon as it is written."""
    assert process.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        line = b""
        deadline = time.monotonic() + seconds
        while not line.endswith(b"\n"):
            assert selector.select(max(0.0, deadline - time.monotonic())), f"no line in {seconds} s: {line!r}"
            byte = os.read(process.stderr.fileno(), 1)
            assert byte, f"phasegate serve ended first: {line!r}"
            line += byte
    return line.decode()


def serve(db_url: str, port: int, *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "workflow.cli", "--db", db_url, "serve", "--port", str(port),
               "--tick-every", "0", *args]
    return subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": PYTHONPATH})


def connected_at_once(db_url: str, *args: str) -> None:
    port = free_port()
    process = serve(db_url, port, *args)
    try:
        line = first_line(process)
        # at once: a refused connection fails here, where a line said too early would send a script
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
        assert line.startswith(f"phasegate serving http://127.0.0.1:{port} "), line
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def test_the_serving_line_comes_when_one_worker_accepts_connections(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="root")
    connected_at_once(db_url)


def test_the_serving_line_comes_when_several_workers_accept_connections(pg_url: str) -> None:
    with Engine(pg_url) as engine:
        engine.init(admin="root")
    connected_at_once(pg_url, "--workers", "2")
