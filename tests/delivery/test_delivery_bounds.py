"""What a webhook receiver can cost the delivery worker: a huge answer, a trickling one.

Each test runs the real worker (``phasegate notify run``, a process of its own) against real
receivers on loopback sockets; memory is the worker process's own RSS from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from support.cli_runs import cli_runner
from support.receivers import Received, http_receiver, huge_answer, raw_receiver, trickled_answer

import workflow
from workflow import Engine
from workflow.storage.tables import outbox as t_outbox

SECRET = "a-long-enough-shared-secret"
LOOPBACK = "127.0.0.0/8"
ENV = {**os.environ, "PYTHONPATH": str(Path(workflow.__file__).resolve().parent.parent),
       "PHASEGATE_WEBHOOK_ALLOW": LOOPBACK}
MIB = 1024 * 1024


def add_webhook(url: str, hook: str) -> None:
    """As an admin does it (the allow-list lets these loopback receivers in)."""
    added = cli_runner(url, LOOPBACK)("webhook", "add", hook, "--secret-stdin", input=SECRET + "\n")
    assert added.exit_code == 0, added.output


@contextmanager
def notify_run(url: str, log: Path, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "workflow.cli", "--db", url, "notify", "run", "--idle", "0.1", *options]
    with log.open("ab") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=ENV)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (the peak so far) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def rows(e: Engine) -> list[dict[str, object]]:
    with e.store.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(t_outbox).order_by(t_outbox.c.id))]


def wait_until(check: object, seconds: float, what: str) -> None:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def event(e: Engine, code: str) -> None:
    """A project whose member gets a task: one notification for each webhook."""
    e.create_project(code, template="team-based", actor="ana")
    e.assign(code, "team", "dev", actor="ana")


@pytest.mark.slow
def test_a_150_mib_answer_is_not_read_the_worker_stays_flat_and_the_delivery_is_recorded(
    db_url: str, tmp_path: Path
) -> None:
    """The receiver streams 150 MiB after its 200 status; the worker reads a few KiB of it and hangs up."""
    first = {"small": True}

    def answer(conn: object, got: Received) -> None:
        if first.pop("small", False):  # the worker's first delivery warms it up (imports, a connection)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # type: ignore[attr-defined]
            return
        huge_answer(150 * MIB)(conn, got)

    with Engine(db_url) as e, raw_receiver(answer) as receiver:
        e.init(admin="ana")
        e.add_user("dev", actor="ana")
        add_webhook(db_url, receiver.url + "/hook")
        with notify_run(db_url, tmp_path / "worker.log") as worker:
            event(e, "W-1")
            wait_until(lambda: [r["status"] for r in rows(e)] == ["delivered"], 30, "the warm-up delivery")
            before = memory(worker.pid, "VmRSS")
            event(e, "W-2")
            wait_until(lambda: len(rows(e)) == 2 and rows(e)[1]["status"] != "pending", 60,
                       "the big answer's delivery settled")
            peak = memory(worker.pid, "VmHWM")
        big = rows(e)[1]
    assert (big["status"], big["attempts"], big["last_error"]) == ("delivered", 1, None)
    assert len(receiver.got) == 2
    assert peak - before < 50 * MIB, f"the worker grew by {(peak - before) / MIB:.0f} MiB reading an answer"


@pytest.mark.slow
def test_a_trickling_receiver_holds_only_its_own_rows_and_is_sent_each_row_once_a_try(
    db_url: str, tmp_path: Path
) -> None:
    """Two workers; a receiver that answers a byte a second, and a healthy one. Each new event reaches the
    healthy receiver within the deadline while the slow one's sends hang; the slow one's sends end at the
    deadline and wait for a retry, each having reached it once; no worker sends a row another holds."""
    deadline = 3.0
    with (Engine(db_url) as e, raw_receiver(trickled_answer(40)) as slow, http_receiver() as healthy):
        e.init(admin="ana")
        e.add_user("dev", actor="ana")
        add_webhook(db_url, slow.url + "/slow")
        add_webhook(db_url, healthy.url + "/healthy")
        (slow_hook,) = [w.id for w in e.webhooks(reader="ana") if w.url.endswith("/slow")]

        def tried() -> dict[str, dict[str, object]]:
            return {str(r["id"]): r for r in rows(e) if r["target"] == slow_hook}

        options = ("--deadline", str(deadline), "--lease", "8")
        with notify_run(db_url, tmp_path / "a.log", *options), notify_run(db_url, tmp_path / "b.log", *options):
            late = []
            for n in range(5):  # more events than workers: an old worker got stuck on a slow send for each
                made = time.monotonic()
                event(e, f"T-{n}")
                wait_until(lambda n=n: len(healthy.got) > n, 30, f"event {n} at the healthy receiver")
                if n:  # the first one waited for the workers to start
                    late.append(time.monotonic() - made)
                wait_until(lambda n=n: len(slow.got) > n, 10, f"event {n} at the slow receiver")
            wait_until(lambda: all(r["last_error"] for r in tried().values()), 30, "every slow send ended")
            time.sleep(2 * deadline)  # a worker taking over a row it should not would have sent it by now
            first = tried()
            counts = slow.deliveries()
            again = next(iter(first))
            e.retry_notification(int(again), actor="ana")  # its next try, now rather than after its backoff
            wait_until(lambda: slow.deliveries().get(again) == 2, 10, "the retry at the slow receiver")
            wait_until(lambda: tried()[again]["last_error"] is not None, 30, "the retry ended")
            time.sleep(2 * deadline)
            retried, counted = tried()[again], slow.deliveries()[again]
        assert max(late) < deadline, f"the healthy receiver waited {max(late):.1f} s behind the slow one"
        assert len(first) == 5
        for key, row in first.items():
            assert row["status"] == "pending" and row["attempts"] == 1, row
            assert "deadline" in str(row["last_error"]), row["last_error"]
            assert counts.get(key) == 1, f"row {key} reached the slow receiver {counts.get(key)} times in one try"
        assert (retried["status"], retried["attempts"], counted) == ("pending", 1, 2), "once a try"
        assert {r["status"] for r in rows(e) if r["target"] != slow_hook} == {"delivered"}


@pytest.mark.slow
def test_a_receiver_with_more_slow_rows_than_connections_leaves_room_for_the_others(db_url: str) -> None:
    """Two connections a receiver (and one more kept for the others): six trickling sends cannot keep the
    healthy receiver's six waiting for them; the slow ones go two at a time, each once."""
    import ipaddress
    import threading

    from workflow.delivery.worker import Worker

    loopback = (ipaddress.ip_network(LOOPBACK),)
    with (Engine(db_url) as e, raw_receiver(trickled_answer(20)) as slow, http_receiver() as healthy):
        e.init(admin="ana")
        e.add_user("dev", actor="ana")
        e.add_webhook(slow.url + "/slow", actor="ana", secret=SECRET, allow=loopback)
        e.add_webhook(healthy.url + "/healthy", actor="ana", secret=SECRET, allow=loopback)
        for n in range(6):
            event(e, f"M-{n}")
        stopping = threading.Event()
        with Worker(e.store, concurrency=2, deadline=2, lease_seconds=10, allow=loopback) as worker:
            assert worker.slots == 3
            thread = threading.Thread(target=worker.run, args=(stopping,), kwargs={"idle": 0.1})
            started = time.monotonic()
            thread.start()
            try:
                wait_until(lambda: len(healthy.got) == 6, 30, "the healthy receiver's six")
                took = time.monotonic() - started
                at_once = len(slow.got)
                wait_until(lambda: len(slow.got) == 6, 30, "the slow receiver's six")
            finally:
                stopping.set()
                thread.join(30)
    assert took < 2, f"the healthy receiver waited {took:.1f} s for the slow one's connections"
    assert at_once <= 2, "the slow receiver had more than its two connections"
    assert sorted(slow.deliveries().values()) == [1] * 6


def test_a_lease_no_longer_than_two_deadlines_is_refused(sqlite_url: str) -> None:
    with Engine(sqlite_url) as e:
        e.init(admin="ana")
    result = cli_runner(sqlite_url)("notify", "run", "--once", "--deadline", "3", "--lease", "6")
    assert result.exit_code == 2
    assert "more than twice the delivery deadline" in result.stderr

