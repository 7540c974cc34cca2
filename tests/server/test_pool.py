"""The database's connection pool against readers that stop reading, and a pool that runs dry.

Against a real ``phasegate serve`` on both backends: exports whose clients stop reading (real
sockets with a small receive buffer that read the status line and nothing more) must not keep
the pool's connections, and a request that finds every connection taken is answered 503 ``busy``
with ``Retry-After`` rather than waiting half a minute for a 500.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy
from sqlalchemy import text
from support.apiclients import error_of
from support.servers import Server, live_server, people

from workflow import Engine
from workflow.domain.audit.events import event_hash

pytestmark = pytest.mark.slow  # a real `phasegate serve` with readers that stop reading: 5.1 s a test (measured 2026-12-07)

BIG_EVENTS = 2000  # ~4 KiB a line: an export of ~8 MiB, more than loopback's socket buffers hold
TEAM = {"integrated_producer": "lee", "head_of_technology": "hol", "project_manager": "mem"}
QUIET = ("--tick-every", "0", "--no-deliver")  # no background thread takes a connection meanwhile


def big_trail(db_url: str, chain: str, count: int) -> None:
    """``count`` events of ~4 KiB appended to ``chain`` with valid hashes, in bulk (the Engine would
    take minutes to write this much history; an export only reads it)."""
    sql = sqlalchemy.create_engine(db_url)
    try:
        with sql.begin() as conn:
            seq, prev = conn.execute(
                text("SELECT seq, hash FROM events WHERE chain = :c ORDER BY seq DESC LIMIT 1"), {"c": chain}
            ).one()
            rows = []
            for n in range(seq + 1, seq + 1 + count):
                at = f"2026-11-28T14:{n // 60 % 60:02d}:{n % 60:02d}.000000Z"
                data = json.dumps({"comment": f"note {n} " + "x" * 3900}, sort_keys=True)
                digest = event_hash(prev, chain, n, at, "lee", "comment", None, data)
                rows.append({"chain": chain, "seq": n, "at": at, "actor": "lee", "action": "comment",
                             "phase": None, "data": data, "prev_hash": prev, "hash": digest})
                prev = digest
            conn.execute(text(
                "INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
                "VALUES (:chain, :seq, :at, :actor, :action, :phase, :data, :prev_hash, :hash)"
            ), rows)
    finally:
        sql.dispose()


def prepared(db_url: str) -> dict[str, str]:
    """Two auditors, a team on project T, a project BIG with a long trail; returns person -> token."""
    with Engine(db_url) as engine:
        tokens = people(engine, {"aud": ("auditor",), "aud2": ("auditor",), "lee": (), "hol": (),
                                 "mem": ()})
        for code in ("T", "BIG"):
            engine.create_project(code, template="large-agency", actor="root")
            for role, person in TEAM.items():
                engine.assign(code, role, person, actor="root")
    big_trail(db_url, "BIG", BIG_EVENTS)
    return tokens


def client(server: Server, token: str) -> httpx.Client:
    """A client that waits long enough to see what a server that hangs would answer in the end."""
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def stalled_export(server: Server, token: str) -> tuple[socket.socket, int]:
    """``GET /audit/export`` on a raw socket that reads the status line and then stops reading;
    returns the socket (open, for the caller to close) and the status."""
    where = urlsplit(server.url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window stays small
    sock.settimeout(30)
    sock.connect((where.hostname, where.port))
    sock.sendall(f"GET /api/v1/audit/export HTTP/1.1\r\nHost: {where.netloc}\r\n"
                 f"Authorization: Bearer {token}\r\n\r\n".encode())
    status = b""
    while len(status) < 12:
        chunk = sock.recv(12 - len(status))
        assert chunk, "the server closed the export's connection before answering"
        status += chunk
    return sock, int(status.split()[1])


@contextlib.contextmanager
def stalled_exports(server: Server, tokens: list[str]) -> Iterator[list[int]]:
    """One stalled export per token, open for the block; yields their statuses."""
    sockets: list[socket.socket] = []
    try:
        statuses = []
        for token in tokens:
            sock, status = stalled_export(server, token)
            sockets.append(sock)
            statuses.append(status)
        yield statuses
    finally:
        for sock in sockets:
            sock.close()


def test_forty_exports_that_stop_reading_leave_a_members_status_answered(db_url: str, tmp_path: Path) -> None:
    """The red team's reproduction: 40 unread exports by one auditor, then a member's status."""
    tokens = prepared(db_url)
    with live_server(db_url, tmp_path / "server.log", *QUIET) as server, \
            stalled_exports(server, [tokens["aud"]] * 40) as statuses:
        assert set(statuses) <= {200, 503}, statuses
        assert 200 in statuses
        with client(server, tokens["mem"]) as member:
            answer = member.get("/api/v1/projects/T")
        assert answer.status_code == 200, answer.text
        assert answer.json()["code"] == "T"


def test_exports_that_stop_reading_hold_no_connection_of_a_tiny_pool(db_url: str, tmp_path: Path) -> None:
    """Two connections in all, four exports stalled (as many as are let in at once): the connections
    were given back as soon as each export's snapshot was read, so a member is still answered."""
    tokens = prepared(db_url)
    with live_server(db_url, tmp_path / "server.log", *QUIET, "--pool-size", "1") as server, \
            stalled_exports(server, [tokens["aud"], tokens["aud"], tokens["aud2"], tokens["aud2"]]) as statuses:
        assert statuses == [200, 200, 200, 200]
        with client(server, tokens["mem"]) as member:
            answer = member.get("/api/v1/projects/T")
        assert answer.status_code == 200, answer.text


def test_an_export_read_slowly_is_exactly_the_export_read_at_once(db_url: str, tmp_path: Path) -> None:
    """The export is the same bytes whether its client reads at once or after the snapshot's
    connection has gone back to the pool."""
    tokens = prepared(db_url)
    with live_server(db_url, tmp_path / "server.log", *QUIET) as server:
        with server.client(tokens["aud"]) as auditor:
            at_once = auditor.get("/api/v1/audit/export", params={"format": "csv"}).content
        with server.client(tokens["aud"]) as auditor, \
                auditor.stream("GET", "/api/v1/audit/export", params={"format": "csv"}) as answer:
            pieces = answer.iter_bytes()
            first = next(pieces)
            with server.client(tokens["lee"]) as lead:  # a write after the export's snapshot
                assert lead.post("/api/v1/projects/T/hold", json={"reason": "r"}).status_code == 200
            slowly = first + b"".join(pieces)
    assert slowly == at_once
    assert slowly.count(b"\n") > BIG_EVENTS


def test_more_exports_than_a_person_may_run_at_once_are_answered_busy(db_url: str, tmp_path: Path) -> None:
    tokens = prepared(db_url)
    with live_server(db_url, tmp_path / "server.log", *QUIET) as server, \
            stalled_exports(server, [tokens["aud"]] * 2):
        with server.client(tokens["aud"]) as auditor:
            answer = auditor.get("/api/v1/audit/export")
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) >= 1
        assert error_of(answer)["kind"] == "busy"
        with server.client(tokens["aud2"]) as other:
            assert other.get("/api/v1/audit/export", params={"project": "T"}).status_code == 200


# -- the pool run dry ---------------------------------------------------------------------------------


@contextlib.contextmanager
def writers_blocked(db_url: str) -> Iterator[None]:
    """The database's write lock (SQLite) or a lock on the tokens table that lets readers in and no
    writer (PostgreSQL's SHARE mode) held by the test, so requests that write wait inside the
    server holding their connection, and reads go on."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    sql = sqlalchemy.create_engine(db_url)
    try:
        with sql.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE tokens IN SHARE MODE"))
            yield
    finally:
        sql.dispose()


def test_a_request_that_finds_every_connection_taken_is_answered_busy_with_retry_after(
    db_url: str, tmp_path: Path
) -> None:
    """A pool of two connections, both held by requests waiting on a lock: the next request is
    answered 503 ``busy`` with Retry-After after the pool's short wait, never a 500; the waiting
    requests finish once the lock is gone."""
    tokens = prepared(db_url)
    with live_server(db_url, tmp_path / "server.log", *QUIET, "--pool-size", "1", "--pool-wait", "1",
                     env={"PHASEGATE_LOCK_WAIT": "60"}) as server:
        blocked: list[httpx.Response | BaseException] = []

        def blocker(person: str) -> None:
            try:
                with client(server, tokens[person]) as someone:
                    blocked.append(someone.post("/api/v1/me/tokens", json={"name": "while locked"}))
            except BaseException as exc:
                blocked.append(exc)

        for person in ("lee", "hol", "mem"):  # each token's first use is written down: before the lock
            with client(server, tokens[person]) as someone:
                assert someone.get("/api/v1/me").status_code == 200
        with writers_blocked(db_url):
            threads = [threading.Thread(target=blocker, args=(p,)) for p in ("lee", "hol")]
            for thread in threads:
                thread.start()
            answers = []
            with client(server, tokens["mem"]) as member:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # until the two blockers hold both connections
                    answers.append(member.get("/api/v1/me/tokens"))
                    if answers[-1].status_code == 503:
                        break
                page = member.get("/", headers={"Accept": "text/html"})  # a person's page, the same
            busy = answers[-1]
        for thread in threads:
            thread.join(timeout=90)
    assert busy.status_code == 503, [a.status_code for a in answers]
    assert busy.headers["Retry-After"] == "1"
    assert error_of(busy)["kind"] == "busy"
    assert (page.status_code, page.headers["Retry-After"]) == (503, "1"), page.text
    assert "every database connection is in use" in page.text
    assert all(a.status_code in (200, 503) for a in answers)
    assert len(blocked) == 2
    assert all(isinstance(b, httpx.Response) and b.status_code in (201, 503) for b in blocked), blocked
