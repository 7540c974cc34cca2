"""A real ``phasegate serve`` process for tests, and the people (accounts and tokens) that use it.

``live_server`` starts the installed command on a free loopback port, waits for
``/readyz``, and stops it with SIGTERM (its graceful path) at the end; its stderr (one
JSON access-log line a request) is kept in a file for a failing test to show.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

import workflow
from workflow import Engine

PYTHONPATH = str(Path(workflow.__file__).resolve().parent.parent)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, token: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextlib.contextmanager
def live_server(db_url: str, log: Path, *args: str, env: Mapping[str, str] | None = None,
                ready_seconds: float = 30, port: int | None = None) -> Iterator[Server]:
    port = port or free_port()
    command = [sys.executable, "-m", "workflow.cli", "--db", db_url, "serve", "--port", str(port), *args]
    full_env = {**os.environ, "PYTHONPATH": PYTHONPATH, **(env or {})}
    with log.open("wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=full_env)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + ready_seconds
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"phasegate serve exited with {process.returncode}:\n{server.log_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"phasegate serve was not ready in {ready_seconds} s:\n{server.log_text()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def people(engine: Engine, grants: Mapping[str, tuple[str, ...]], admin: str = "root") -> dict[str, str]:
    """Accounts with API tokens (and grants) for ``grants``' people; returns person -> token."""
    engine.init(admin=admin)
    tokens = {}
    for person, privileges in {admin: ("admin",), **grants}.items():
        if person not in {p.login for p in engine.users()}:
            engine.add_user(person, actor=admin)
        for privilege in privileges:
            if person not in engine.grants()[privilege]:
                engine.grant(person, privilege, actor=admin)
        _info, tokens[person] = engine.create_token(actor=person, name="tests")
    return tokens
