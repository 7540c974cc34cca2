"""A page of a list and the cursor of the next: ask for one more row than the page holds.

The one extra row says whether another page follows without a count: when it comes back,
the cursor of the next page is the page's last item's (its code, its seq); when it does
not, this page is the last (``next`` is null). The API's lists and the web app's pages
all page this way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
