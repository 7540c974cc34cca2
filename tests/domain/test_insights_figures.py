"""The insights' arithmetic (issue 25), pure: nearest-rank percentiles from counted values, and the
working-day ordinals whose differences are the schedule's working days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from workflow.domain.insights.changes import late
from workflow.domain.insights.figures import Dist, dist, percentile
from workflow.domain.schedule.workdays import ORDINAL_EPOCH, ordinal, working_days_in


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([1, 2, 3, 4], 50, 2),  # rank ceil(2) = 2: the lower middle
    ([1, 2, 3, 4], 90, 4),  # rank ceil(3.6) = 4
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9),  # rank 9
    ([7], 50, 7),
    ([2, 3], 90, 3),  # rank ceil(1.8) = 2
    ([5, 1, 1, 1], 50, 1),
])
def test_percentiles_are_nearest_rank_and_always_one_of_the_values(values: list[int], p: int,
                                                                   expected: int) -> None:
    counted: dict[int, int] = {}
    for v in values:
        counted[v] = counted.get(v, 0) + 1
    assert percentile(counted, p) == expected


def test_a_distribution_of_counted_values_and_of_none() -> None:
    assert dist({3: 2, 1: 1, 10: 1}) == Dist(4, 3, 10, 10)  # 1, 3, 3, 10
    assert dist({}, at_least=True) == Dist(0, None, None, None, True)
    assert dist({4: 0}) == Dist()  # a value counted 0 times is not there
    assert percentile({}, 50) is None


def test_a_round_is_late_only_when_it_ended_after_the_end_of_its_due_day() -> None:
    assert late("2026-12-10T23:59:59.000000Z", "2026-12-10") is False
    assert late("2026-12-11T00:00:00.000000Z", "2026-12-10") is True
    assert late("2026-12-11T00:00:00.000000Z", None) is None


@pytest.mark.parametrize("calendar", [None, "GB-ENG", "US-NY"])
def test_ordinal_differences_are_the_schedules_working_days(calendar: str | None) -> None:
    start = date(2026, 11, 20)
    for a in range(0, 60, 7):
        for b in range(a, a + 45, 4):
            first, end = start + timedelta(days=a), start + timedelta(days=b)
            assert ordinal(end.isoformat(), calendar) - ordinal(first.isoformat(), calendar) == \
                working_days_in(first, end, calendar), (first, end)
    # before the epoch too, and a stored time counts as its day
    assert ordinal("1999-12-31", None) == -1  # Friday 31 December 1999: one working day before it
    assert ordinal(ORDINAL_EPOCH.isoformat(), None) == 0
    assert ordinal("2000-01-04T17:00:00.000000Z", None) == 1
    assert ordinal("2026-12-28", "GB-ENG") - ordinal("2026-12-21", "GB-ENG") == 4  # Christmas Day off
