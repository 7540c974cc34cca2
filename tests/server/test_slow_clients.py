"""Slow and idle connections are dropped, and the connections a server holds are bounded.

On a real ``phasegate serve`` with short timeouts (``--header-timeout 2 --body-timeout 3``): a client
trickling its headers, or its body, a byte a second is answered 408 (or closed) within the bound, while
a normal client is served meanwhile; past ``--max-connections``, a request is answered 503 busy.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.rawclient import Reader, connect, head
from support.servers import Server, live_server, people

from workflow import Engine

pytestmark = pytest.mark.slow  # a real `phasegate serve` and clients that trickle or idle until its timeouts: 4.5 s a test (measured 2026-12-07)

HEADER_SECONDS, BODY_SECONDS = 2, 3
SLACK = 3  # the timer's own lateness on a loaded two-core machine, and the test's polling
OPTIONS = ("--header-timeout", str(HEADER_SECONDS), "--body-timeout", str(BODY_SECONDS))


@pytest.fixture
def token(db_url: str) -> str:
    with Engine(db_url) as engine:
        tokens = people(engine, {"ana": ()})
        engine.create_project("P-1", template="team-based", actor="root")
    return tokens["root"]


@pytest.fixture
def server(db_url: str, token: str, tmp_path: Path) -> Iterator[Server]:
    with live_server(db_url, tmp_path / "server.log", "--no-deliver", "--tick-every", "0", *OPTIONS) as running:
        yield running


@contextlib.contextmanager
def watched(server: Server) -> Iterator[tuple[socket.socket, Reader]]:
    """A raw connection to the server and a thread reading what comes back."""
    with contextlib.closing(connect(server.url)) as sock:
        sock.settimeout(1)
        reader = Reader(sock, seconds=HEADER_SECONDS + BODY_SECONDS + 4 * SLACK)
        reader.start()
        yield sock, reader


def trickle(sock: socket.socket, reader: Reader, data: bytes, *, until: float, served: list[int],
            server: Server, token: str) -> float:
    """Send ``data`` a byte a second until the server answers or closes, or ``until`` seconds pass; a
    normal client asks the server for a project each second meanwhile. The seconds it took."""
    started = time.monotonic()
    with server.client(token) as normal:
        for byte in data:
            if reader.data or reader.closed_at is not None or time.monotonic() - started > until:
                break
            with contextlib.suppress(OSError):
                sock.sendall(bytes([byte]))
            served.append(normal.get("/api/v1/projects/P-1").status_code)
            time.sleep(1)
    reader.join(timeout=until)
    return (reader.closed_at or reader.first_byte_at or time.monotonic()) - started


def test_a_client_trickling_its_headers_is_answered_408_and_dropped(server: Server, token: str) -> None:
    served: list[int] = []
    with watched(server) as (sock, reader):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        took = trickle(sock, reader, b"X-Slow: " + b"a" * 60, until=HEADER_SECONDS + 3 * SLACK,
                       served=served, server=server, token=token)
    answer = reader.answer()
    assert answer.status == 408, answer.raw[:300]
    assert answer.json()["error"]["kind"] == "too_slow"
    assert took < HEADER_SECONDS + SLACK, f"dropped after {took:.1f} s"
    assert served and set(served) == {200}, served


def test_a_client_trickling_its_body_is_answered_408_and_dropped(server: Server, token: str) -> None:
    served: list[int] = []
    with watched(server) as (sock, reader):
        sock.sendall(head("POST", "/api/v1/me/session",
                          {"Content-Type": "application/json", "Content-Length": "200"}))
        took = trickle(sock, reader, b'{"login": "ana", "password": "' + b"a" * 160 + b'"}',
                       until=BODY_SECONDS + 3 * SLACK, served=served, server=server, token=token)
    answer = reader.answer()
    assert answer.status in (408, None), answer.raw[:300]  # 408, or at least the connection closed
    assert reader.closed_at is not None or answer.status == 408
    if answer.status == 408:
        assert answer.json()["error"]["kind"] == "too_slow"
    assert took < BODY_SECONDS + SLACK, f"dropped after {took:.1f} s"
    assert served and set(served) == {200}, served


def test_a_body_nobody_reads_cannot_hold_the_connection_after_the_answer(server: Server, token: str) -> None:
    """An anonymous form is answered before its body is read; trickling the rest then is cut off too."""
    served: list[int] = []
    with watched(server) as (sock, reader):
        sock.sendall(head("POST", "/projects/P-1/do", {"Content-Type": "application/x-www-form-urlencoded",
                                                       "Content-Length": "100"}))
        deadline = time.monotonic() + 5
        while not reader.data and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.answer().status == 303
        reader.data.clear()
        reader = Reader(sock, seconds=HEADER_SECONDS + 4 * SLACK)
        reader.start()
        took = trickle(sock, reader, b"a" * 100, until=HEADER_SECONDS + 3 * SLACK, served=served,
                       server=server, token=token)
    assert reader.closed_at is not None, "the connection is still open"
    assert took < HEADER_SECONDS + SLACK, f"dropped after {took:.1f} s"


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with watched(server) as (_sock, reader):
        reader.join(timeout=HEADER_SECONDS + 3 * SLACK)
        assert reader.closed_at is not None
        assert reader.data == b""


def test_headers_longer_than_the_limit_are_refused_431(server: Server) -> None:
    with watched(server) as (sock, reader):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        with contextlib.suppress(OSError):
            for _ in range(64):  # up to 1 MiB, a 16 KiB piece at a time
                if reader.data or reader.closed_at is not None:
                    break
                sock.sendall(b"a" * 16384)
        reader.join(timeout=10)
    answer = reader.answer()
    assert answer.status == 431, answer.raw[:300]
    assert answer.json()["error"]["kind"] == "too_large"


def test_a_request_beyond_the_connection_bound_is_answered_503_busy(db_url: str, token: str,
                                                                   tmp_path: Path) -> None:
    with live_server(db_url, tmp_path / "server.log", "--no-deliver", "--tick-every", "0",
                     "--max-connections", "3") as server, contextlib.ExitStack() as held:
        for _ in range(3):
            held.enter_context(contextlib.closing(connect(server.url)))
        time.sleep(0.3)  # the server has accepted them
        with server.client(token) as client:
            refused = client.get("/api/v1/projects/P-1")
        assert refused.status_code == 503, refused.text[:300]
        assert refused.json()["error"]["kind"] == "busy"
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["cache-control"] == "no-store"
        held.close()
        time.sleep(0.3)
        with server.client(token) as client:
            assert client.get("/api/v1/projects/P-1").status_code == 200
