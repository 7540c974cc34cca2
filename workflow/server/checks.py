"""Costly work the server does for one person, bounded in flight per process: beyond the bound a request
is answered 503 ``busy`` with Retry-After at once, instead of queueing for the CPU everybody shares.

Reading a template is bounded in itself (``TEMPLATE_VALUES``, ``TEMPLATE_ENTRIES``: a hostile one
is refused in milliseconds), but it is still CPU work the size of the text, done for anyone
signed in; ``TEMPLATE_CHECKS`` at once keep a few people pasting templates from slowing every
other request of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from workflow.domain import limits
from workflow.errors import Busy


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
