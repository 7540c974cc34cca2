"""The argon2 work one process does at once, bounded.

A password check (argon2id, argon2-cffi's defaults) takes 64 MiB and most of a core for
about a tenth of a second, and the person asking need not be signed in: 32 sign-ins at once
took a server from 89 MiB to 1.6 GiB and every other request from 7 ms to a second or two.
So a server bounds the checks (and hashes) in flight with a semaphore sized to its cores
(``limits.PASSWORD_CHECKS``); a sign-in that finds every slot taken waits briefly
(``limits.PASSWORD_CHECK_WAIT``), then is refused with :class:`~workflow.errors.Busy` (503,
``Retry-After``) without costing anything. The CLI on a database hashes one password at a
time and sets no bound.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from workflow.domain import limits
from workflow.errors import Busy

_slots: threading.BoundedSemaphore | None = None  # None: no bound (not a server)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def bound(checks: int) -> int:
    """At most ``checks`` password checks at once in this process from now on (0: one per core);
    returns the bound."""
    global _slots
    size = checks if checks > 0 else cores()
    _slots = threading.BoundedSemaphore(size)
    return size


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
