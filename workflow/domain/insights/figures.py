"""Distributions from counted values: the median, the 90th percentile and the maximum of working days.

Values arrive counted (``{days: how many}``, what ``GROUP BY days`` gives), so 100k rounds cost as
much as the few dozen distinct numbers of days among them. Percentiles are **nearest-rank**: the
p-th percentile of n sorted values is the value at rank ``ceil(p * n / 100)`` (1-based), always one of
the values (the median of 1, 2, 3, 4 is 2: the lower middle). Easy to check by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Dist:
    """How many values, their median, 90th percentile and maximum (None when there are none).

    ``at_least``: the values are lower bounds (rounds or projects still running: censored, each
    has taken at least this long so far)."""

    n: int = 0
    median: int | None = None
    p90: int | None = None
    max: int | None = None
    at_least: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def percentile(counted: Mapping[int, int], p: int) -> int | None:
    """The nearest-rank ``p``-th percentile of the values counted in ``counted`` (value -> count)."""
    total = sum(counted.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(p * total / 100))
    seen = 0
    for value in sorted(counted):
        seen += counted[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable")  # pragma: no cover


def dist(counted: Mapping[int, int], *, at_least: bool = False) -> Dist:
    counted = {v: c for v, c in counted.items() if c}
    if not counted:
        return Dist(at_least=at_least)
    return Dist(
        sum(counted.values()), percentile(counted, 50), percentile(counted, 90), max(counted), at_least
    )


def counted(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """``{value: count}`` from (value, count) pairs, adding repeated values."""
    out: dict[int, int] = {}
    for value, count in pairs:
        out[value] = out.get(value, 0) + count
    return out
