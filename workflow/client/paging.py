"""Following the API's pages lazily, and counting the events of a streamed export.

A paged endpoint answers a page and the cursor of the next (``next``; null after the
last). :func:`follow` reads the first page at once, so a refusal (no such project,
not permitted, a bad filter) is raised before the caller prints anything, as the
Engine's iterators do; every later page is read only when the caller gets to it, so
a board or a history of any length holds one page in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from workflow.domain import paging

T = TypeVar("T")
C = TypeVar("C")
PAGE = 500  # items a request (the API allows up to 1000)
Fetch = Callable[[C | None, int, bool], tuple[list[T], C | None]]  # (cursor, size, first) -> (items, next)


def follow(fetch: Fetch[C, T], start: C | None, wanted: int | None) -> Iterator[T]:
    """Every item after ``start``, at most ``wanted`` (None: all): the first page now, the rest lazily."""
    items, cursor = fetch(start, PAGE if wanted is None else min(PAGE, wanted), True)
    return paging.follow(lambda after, size: fetch(after, size, False), items, cursor, wanted, PAGE)


class RowCounter:
    """How many events a streamed export held, counted as its text goes by.

    JSON Lines: one event a line (a newline inside a value is always escaped). CSV: a
    line break outside double quotes ends a row (a quoted cell may hold line breaks, and
    ``""`` inside one opens and closes quoting at once), less the header row.
    """

    def __init__(self, *, csv: bool) -> None:
        self.csv = csv
        self._breaks = 0
        self._quoted = False

    def read(self, chunk: str) -> None:
        if not self.csv:
            self._breaks += chunk.count("\n")
            return
        for i, part in enumerate(chunk.split('"')):
            if i:
                self._quoted = not self._quoted
            if not self._quoted:
                self._breaks += part.count("\n")

    @property
    def rows(self) -> int:
        return max(0, self._breaks - 1) if self.csv else self._breaks
