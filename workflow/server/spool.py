"""A long answer read from the database at the database's pace, sent at the client's: a spool file.

An audit export is one snapshot of the whole trail. Streamed straight from the database cursor
to the socket, a client that stops reading keeps the snapshot's pooled connection for as long as
it likes: 40 such clients took every connection of a server, and everybody else's requests
waited for the pool and failed. So the export is written by a thread to an unnamed temporary
file (``tempfile.TemporaryFile``, removed by the OS even if the process dies), and the response
sends the file as it grows: the first bytes still leave at once, and the connection goes back to
the pool as soon as the snapshot has been read, whatever the client does. Measured on 100,000
events (77 MB of JSON Lines, SQLite, 2 cores): the snapshot is read in ~2 s, so that is how long
a connection is held; a client reading at full speed gets the whole export in 1.9 s, where the
queue of one line a chunk it replaced took 17.5 s.

What a spool can cost is bounded (``workflow/domain/limits.py``): exports in flight per person
and per process (beyond them 503 busy), and a client that takes nothing for ``EXPORT_STALL``
seconds is disconnected, which removes its file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from workflow.errors import Busy

FLUSH_CHARS = 64 * 1024  # text gathered before one write to the file
READ_BYTES = 64 * 1024  # the most one chunk of the answer holds


class Abandoned(Exception):
    """The answer ended before the export did (the client went away): the export stops."""


class Stalled(Exception):
    """The client took nothing of the answer for the whole stall deadline: it is disconnected."""


class InFlight:
    """How many spooled answers are in flight, per person and in all, each bounded (a thread-safe
    pair of counters: the slot is taken on the event loop and given back from either side)."""

    def __init__(self, per_person: int, in_all: int, what: str) -> None:
        self.per_person, self.in_all, self.what = per_person, in_all, what
        self._lock = threading.Lock()
        self._people: dict[str, int] = {}
        self._all = 0

    def take(self, person: str) -> Callable[[], None]:
        """A slot for ``person`` (returns the function that gives it back), else :class:`Busy`."""
        with self._lock:
            mine = self._people.get(person, 0)
            if mine >= self.per_person:
                raise Busy(f"{person} has {mine} {self.what}s in flight already (at most {self.per_person} "
                           f"at once); try again when one has finished", retry_after=5)
            if self._all >= self.in_all:
                raise Busy(f"the server is sending {self._all} {self.what}s already (at most {self.in_all} "
                           f"at once); try again in a moment", retry_after=5)
            self._people[person] = mine + 1
            self._all += 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            with self._lock:
                if given_back:
                    return
                given_back = True
                self._all -= 1
                left = self._people[person] - 1
                if left:
                    self._people[person] = left
                else:
                    del self._people[person]

        return give_back

    @property
    def count(self) -> int:
        return self._all


class Spool:
    """The text a thread writes (``write``, a ``TextSink``), in a temporary file that the event
    loop reads back as it grows (``chunks``).

    The file is closed, and the slot given back, when both sides are done with it: the writing
    thread (``finish``) and the answer (``close``); an answer closed first makes the thread's
    next ``write`` raise :class:`Abandoned`, so an export nobody reads stops early.
    """

    def __init__(self, release: Callable[[], None] = lambda: None) -> None:
        self._loop = asyncio.get_running_loop()
        self._file = tempfile.TemporaryFile(prefix="phasegate-spool-")  # noqa: SIM115 (closed by _let_go)
        self._fd = self._file.fileno()
        self._pending: list[str] = []
        self._pending_chars = 0
        self._changed = asyncio.Event()
        self._users = 2  # the writing thread and the answer
        self._lock = threading.Lock()
        self._release = release
        self.size = 0  # bytes in the file (written by the thread, read by the loop)
        self.wrote = False
        self.done = False
        self.abandoned = False
        self.error: BaseException | None = None

    # -- the writing thread ------------------------------------------------------------------------

    def write(self, text: str, /) -> int:
        if self.abandoned:
            raise Abandoned("the answer ended before the export did")
        self._pending.append(text)
        self._pending_chars += len(text)
        if not self.wrote:
            self.wrote = True
            self._notify()
        if self._pending_chars >= FLUSH_CHARS:
            self._flush()
        return len(text)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = memoryview("".join(self._pending).encode("utf-8"))
        self._pending.clear()
        self._pending_chars = 0
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        self.size += written
        self._notify()

    def finish(self, error: BaseException | None = None) -> None:
        """The thread is done (``error``: why it stopped early); the rest of the text goes out."""
        try:
            if error is None:
                self._flush()
        except BaseException as exc:
            error = exc
        finally:
            self.error = error
            self.done = True
            self._notify()
            self._let_go()

    def _notify(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
            self._loop.call_soon_threadsafe(self._changed.set)

    # -- the event loop --------------------------------------------------------------------------------

    async def started(self) -> None:
        """Until the thread wrote something or finished (a refusal comes before any text)."""
        while True:
            self._changed.clear()
            if self.wrote or self.done:
                return
            await self._changed.wait()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they come; raises the thread's error if it stopped early, so the
        client's answer breaks off rather than ending as if it were whole."""
        offset = 0
        while True:
            self._changed.clear()
            size = self.size
            if offset < size:
                data = os.pread(self._fd, min(READ_BYTES, size - offset), offset)
                offset += len(data)
                yield data
            elif self.done:
                if self.error is not None:
                    raise self.error
                return
            else:
                await self._changed.wait()

    def close(self) -> None:
        """The answer is done with the spool (sent, refused, or its client gone)."""
        self.abandoned = True
        self._let_go()

    def _let_go(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:
            self._file.close()
            self._release()


class SpoolResponse(StreamingResponse):
    """A spool's bytes as a streamed answer; a client that takes nothing for ``stall`` seconds is
    disconnected (each chunk must be taken within it), and the spool is closed at the end."""

    def __init__(self, spool: Spool, *, media_type: str, stall: float) -> None:
        super().__init__(spool.chunks(), media_type=media_type)
        self.spool = spool
        self.stall = stall

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.spool.close()

    async def stream_response(self, send: Send) -> None:
        async def sending(message: Any) -> None:
            try:
                with anyio.fail_after(self.stall):
                    await send(message)
            except TimeoutError:
                raise Stalled(f"the client took nothing of the answer for {self.stall:g} s") from None

        await super().stream_response(sending)
