"""Costly work the server does for one person, bounded in flight per process: beyond the bound a request
is answered 503 ``busy`` with Retry-After at once, instead of queueing for the CPU everybody shares.

Reading a template is bounded in itself (``TEMPLATE_VALUES``, ``TEMPLATE_ENTRIES``: a hostile one
is refused in milliseconds), but it is still CPU work the size of the text, done for anyone
signed in; ``TEMPLATE_CHECKS`` at once keep a few people pasting templates from slowing every
other request of the process.

A check (``POST /api/v1/templates/validate``, the web app's template check) also runs in a child
process of the server's (:class:`Checker`), not in one of its threads. Reading YAML is pure
Python: a thread doing it holds the interpreter's lock, and every other request of the process
then waits for that lock at each of its own steps, up to the switch interval (5 ms) a time.
Measured with ``benchmarks/bench_exposure.py`` (SQLite, one worker, 4 clients checking the
costliest template the bounds let through in a loop, on a shared 2-core machine): a signed-in
person's status read took 180 ms at the median and 315 ms at the 99th percentile against 3 and
10 ms without them, with the checks in the server's threads; 7 and 22 ms with them in the
child. The child runs at a lower CPU priority (``CHECKER_NICE``), so that on a busy machine
people's requests get the CPU first; it is started on the first check and stops with the
server (or when the server process is gone). Publishing stays in the server's threads (it
needs the publish grant, and the engine reads the template in the transaction that stores it).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TYPE_CHECKING

from workflow.domain import limits
from workflow.errors import Busy

if TYPE_CHECKING:
    from workflow.domain.templates.definition import Definition

CHECKER_NICE = 10  # the checker's CPU priority below the server's (nice(2)): ~1/10 of a core's share


class InFlight:
    """At most ``size`` of one kind of work at once in this process; the one past it is refused."""

    def __init__(self, size: int, what: str, retry_after: int = 1) -> None:
        self.semaphore = threading.BoundedSemaphore(size)
        self.what = what
        self.retry_after = retry_after

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the work in the ``with`` block, or raise :class:`Busy` at once."""
        if not self.semaphore.acquire(blocking=False):
            raise Busy(f"the server is busy with other {self.what}; try again in a moment", self.retry_after)
        try:
            yield
        finally:
            self.semaphore.release()


TEMPLATE_CHECKS = InFlight(int(limits.TEMPLATE_CHECKS.default), "template checks")


class Checker:
    """A child process that checks templates, one at a time, for this server process.

    A check past the one running waits in the child's queue (``TEMPLATE_CHECKS`` bounds how many
    are in flight). The child is spawned (a fresh interpreter: forking a process with threads
    could copy a lock held by one of them) on the first check; if it dies, that check is answered
    503 busy and the next one starts a new child.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_child_started,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def load(self, data: bytes, source: str) -> Definition:
        """The template in ``data`` read and checked in the child: its Definition, or the child's
        :class:`~workflow.errors.DefinitionError` (every problem, with its line) raised here."""
        pool = self._executor()
        try:
            return pool.submit(_load, data, source).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise Busy("the server's template checker stopped; try again in a moment", 1) from None

    def stop(self) -> None:
        """Stop the child (the server is stopping); a later check starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


CHECKER = Checker()


def check_template(data: bytes, source: str = "the template") -> Definition:
    """Check a template for someone, bounded: :class:`Busy` at once past ``TEMPLATE_CHECKS`` in flight,
    else the Definition or the DefinitionError from the checker process."""
    with TEMPLATE_CHECKS.slot():
        return CHECKER.load(data, source)


def _load(data: bytes, source: str) -> Definition:
    """In the child: the loader's work (raising DefinitionError, which reaches the server pickled)."""
    from workflow.domain.templates.loader import load_definition

    return load_definition(data, source)


def _child_started(parent: int) -> None:
    """In the child: a lower CPU priority, Ctrl-C left to the server, and an exit when the server
    process is gone (killed with SIGKILL it cannot stop the child itself)."""
    os.nice(CHECKER_NICE)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="phasegate-checker-watch", daemon=True).start()
    from workflow.domain.templates import loader  # noqa: F401  (imported once, not on the first check)
