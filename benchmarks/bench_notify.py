"""Delivering the outbox: notifications per second to a local keep-alive webhook receiver.

A SQLite database with one webhook holds N pending notifications (20k; quick: 5k) of real
events (projects created and staffed through the Engine, then the outbox rows multiplied
with SQL so the figure is the worker's, not the commands'). ``Worker.drain()`` (what
``phasegate notify run --once`` runs: claim a batch under a lease, sign and post each body
on a pool of keep-alive connections (4, then 16, and the quarter more kept for other receivers),
settle what finished a few hundred at a time) sends them
all to a receiver in another process (uvicorn with httptools, a bare ASGI app answering
204), which counts what it got.

Floor: the same receiver posted to by the same connection pool (httpcore's) and as many threads,
the same number of requests of the same size, nothing signed, read or written. Target: at least
1,000 notifications a second; the ratio says what the outbox's bookkeeping costs.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

TARGET = 1000.0  # notifications a second
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)  # the local receiver: PHASEGATE_WEBHOOK_ALLOW's way in
CONCURRENCIES = (4, 16)  # connections (and sending threads): few suit two CPUs, many a slow receiver

RECEIVER = """
import sys, uvicorn
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    count += 1
    body = str(count).encode() if scope["path"] == "/count" else b""
    await send({"type": "http.response.start", "status": 200 if body else 204,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", log_level="warning",
            access_log=False, backlog=256)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _receiver() -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.post(url + "/ping", content=b"")
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the receiver did not start")


def _prepare(url: str, receiver: str, n: int) -> None:
    from sqlalchemy import insert, select

    from workflow import Engine
    from workflow.storage.tables import outbox

    with Engine(url) as e:
        e.init(admin=c.ADMIN)
        for person in ("p1", "p2", "p3"):
            e.add_user(person, actor=c.ADMIN)
        e.add_webhook(receiver + "/hook", actor=c.ADMIN, secret="bench-secret-0123456789", allow=LOOPBACK)
        for i in range(20):
            e.create_project(f"N-{i}", template="team-based", actor=c.ADMIN)
            for person in ("p1", "p2", "p3"):
                e.assign(f"N-{i}", "team", person, actor=c.ADMIN)
        with e.store.connect() as conn:
            made = [dict(r._mapping) for r in conn.execute(select(outbox))]
            for row in made:
                row.pop("id")
            copies = [made[i % len(made)] for i in range(n - len(made))]
            for start in range(0, len(copies), 5000):
                conn.execute(insert(outbox), copies[start:start + 5000])
            conn.commit()


def _deliver(url: str, concurrency: int) -> tuple[float, int]:
    from workflow import Engine
    from workflow.delivery.worker import Worker

    with Engine(url) as e, Worker(e.store, concurrency=concurrency, batch=500, allow=LOOPBACK) as worker:
        t0 = time.perf_counter()
        report = worker.drain()
        return time.perf_counter() - t0, report.delivered


def _floor(receiver: str, n: int, size: int, concurrency: int) -> float:
    """Bare posts on the pool the worker uses (httpcore's), nothing signed, read or written."""
    import httpcore

    body = b"x" * size
    headers = {"Content-Type": "application/json"}
    with (httpcore.ConnectionPool(max_connections=concurrency) as client,
          ThreadPoolExecutor(concurrency) as pool):
        t0 = time.perf_counter()
        list(pool.map(lambda _i: client.request("POST", receiver + "/hook", content=body, headers=headers),
                      range(n)))
        return time.perf_counter() - t0


def run(args: object) -> str:
    quick = bool(getattr(args, "quick", False))
    n = 5_000 if quick else 20_000
    data_dir = Path(getattr(args, "data_dir", c.DEFAULT_DATA_DIR))
    proc, receiver = _receiver()
    measured = {}
    try:
        with c.scratch_dir(data_dir, "notify-") as tmp:
            for concurrency in CONCURRENCIES:
                url = f"sqlite:///{tmp / f'notify-{concurrency}.db'}"
                _prepare(url, receiver, n)
                seconds, delivered = _deliver(url, concurrency)
                measured[concurrency] = (seconds, delivered, _floor(receiver, delivered, 700, concurrency))
    finally:
        proc.terminate()
        proc.wait()
    rows, notes = [], []
    for concurrency, (seconds, delivered, floor) in measured.items():
        rate, floor_rate = delivered / seconds, delivered / floor
        figure = f"notifications delivered a second (`Worker.drain`, SQLite, {concurrency} connections)"
        rows.append(c.Row(figure, c.fmt(rate, "/s"), c.fmt(floor_rate, "/s") + " (bare posts)",
                          f"{rate / floor_rate:.2f}x of the floor", f">= {TARGET:,.0f}/s",
                          c.yes_no(rate >= TARGET)))
        notes.append(f"{concurrency} connections: {delivered:,} notifications in {seconds:.2f} s (the floor: "
                     f"{floor:.2f} s).")
    notes += ["Every notification signed (HMAC-SHA256), posted and settled in the database; the receiver is "
              "uvicorn in another process; the floor is the same pool posting the same number of bodies.",
              f"{os.cpu_count()} CPUs, shared by the worker's threads and the receiver."]
    return c.table("Delivering notifications", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
