"""The argon2 work one process does at once, bounded.

A password check (argon2id, argon2-cffi's defaults) takes 64 MiB and most of a core for
about a tenth of a second, and the person asking need not be signed in: 32 sign-ins at once
took a server from 89 MiB to 1.6 GiB and every other request from 7 ms to a second or two.
So a server bounds the checks (and hashes) in flight with a semaphore sized to its cores
(``limits.PASSWORD_CHECKS``); a sign-in that finds every slot taken waits briefly
(``limits.PASSWORD_CHECK_WAIT``), then is refused with :class:`~workflow.errors.Busy` (503,
``Retry-After``) without costing anything. The CLI on a database hashes one password at a
time and sets no bound.

In a server the hashing itself runs in threads of its own at a lower CPU priority
(:func:`run`, ``ARGON2_NICE``): the checks take whole cores for a tenth of a second each, and
at the same priority as the threads serving people's requests they held a status read up
at every step (``benchmarks/bench_exposure.py``, SQLite, one worker, 32 clients signing in
with made-up names from fresh addresses, on a shared 2-core machine: a signed-in person's
status read took 17 ms at the median and 150 ms at the 99th percentile against 3 and 10 ms
without them; with the hashing at the lower priority, 3-6 ms and 40-50 ms). A check then takes
longer when the machine is busy, which slows the sign-ins, not the people signed in. Linux only
(a thread's priority is its own there); elsewhere they keep the process's.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import TypeVar

from workflow.domain import limits
from workflow.errors import Busy

ARGON2_NICE = 10  # the hashing threads' priority below the server's (nice(2)): ~1/10 of a core's share
T = TypeVar("T")

_slots: threading.BoundedSemaphore | None = None  # None: no bound (not a server)
_threads: ThreadPoolExecutor | None = None  # the hashing threads (a server's)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def bound(checks: int) -> int:
    """At most ``checks`` password checks at once in this process from now on (0: one per core);
    returns the bound."""
    global _slots, _threads
    size = checks if checks > 0 else cores()
    _slots = threading.BoundedSemaphore(size)
    if _threads is not None:
        _threads.shutdown(wait=False)
    _threads = ThreadPoolExecutor(size, thread_name_prefix="phasegate-argon2", initializer=_lower_priority)
    return size


def run(work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` (a password's hashing or check, inside :func:`slot`) in one of the server's
    hashing threads, at their lower priority; in this thread when there are none (not a server)."""
    threads = _threads
    if threads is None:
        return work(*args)
    return threads.submit(work, *args).result()


def _lower_priority() -> None:
    """A hashing thread's own CPU priority, lowered (Linux: setpriority on the thread's id; elsewhere
    that id could name another process, so nothing is done)."""
    if sys.platform == "linux":
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ARGON2_NICE)


@contextmanager
def slot() -> Iterator[None]:
    """Hold one of the process's password-check slots for the block, or raise Busy."""
    slots = _slots
    if slots is None:
        yield
        return
    if not slots.acquire(timeout=float(limits.PASSWORD_CHECK_WAIT.default)):
        raise Busy("the server is checking as many passwords as it can at once; try again in a second",
                   retry_after=1)
    try:
        yield
    finally:
        slots.release()
