"""Paging, written once: a page and the cursor of the next, and following pages lazily.

:func:`page_and_next` (the API's lists, the web app's pages) asks for one more row than the
page holds: the one extra row says whether another page follows without a count; when it
comes back, the cursor of the next page is the page's last item's (its code, its seq), and
when it does not, this page is the last (``next`` is null). :func:`follow` (the Engine's
board and history, ``--server`` mode's client) reads page after page as the caller iterates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
C = TypeVar("C")


def page_and_next(fetch: Callable[[int], Iterable[T]], size: int,
                  cursor: Callable[[T], C]) -> tuple[list[T], C | None]:
    """``fetch(size + 1)``'s first ``size`` items, and the next page's cursor (None: none follows)."""
    rows = list(fetch(size + 1))
    if len(rows) > size:
        return rows[:size], cursor(rows[size - 1])
    return rows, None


Fetch = Callable[[C, int], tuple[list[T], C | None]]  # (cursor, size) -> (a page, the next page's cursor)


def follow(fetch: Fetch[C, T], items: list[T], cursor: C | None, wanted: int | None,
           size: int) -> Iterator[T]:
    """``items`` (a first page, already read) and the pages after it, at most ``wanted`` items in all
    (None: every one), ``size`` a read: each page is read only when the caller gets to it, so a list
    of any length holds one page in memory. ``cursor``: where the page after ``items`` starts (None:
    there is none)."""
    sent = 0
    while True:
        take = items if wanted is None else items[: wanted - sent]
        yield from take
        sent += len(take)
        left = None if wanted is None else wanted - sent
        if cursor is None or left == 0:
            return
        items, cursor = fetch(cursor, size if left is None else min(size, left))


def next_after(page: Sequence[T], asked: int, key: Callable[[T], C]) -> C | None:
    """Where the page after ``page`` starts, when pages are read in key order: after its last item if
    it is as long as asked (a shorter one is the last)."""
    return key(page[-1]) if page and len(page) >= asked else None


def read_after(read: Callable[[C, int], list[T]], key: Callable[[T], C]) -> Fetch[C, T]:
    """A :data:`Fetch` over ``read(after, size)``, a page of the items after ``after`` in key order."""

    def fetch(cursor: C, size: int) -> tuple[list[T], C | None]:
        page = read(cursor, size)
        return page, next_after(page, size, key)

    return fetch
