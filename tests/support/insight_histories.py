"""Three projects with known histories on a fixed clock, for the insights' tests (issue 25): their
figures are worked out by hand in tests/engine/test_insights.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from support.schedules import moved_clock, timed_project
from workflow import Engine


def day(n: int) -> datetime:
    return datetime(2026, 12, n, 9, 0, tzinfo=UTC)


@contextmanager
def three_histories(db_url: str) -> Iterator[Engine]:
    """P-1 completed (a hold, a rejection), P-2 cancelled (a withdrawn signature), P-3 running late;
    the clock left at Thursday 24 December 2026, 10:00."""
    with moved_clock(day(7)) as clock, Engine(db_url) as e:
        timed_project(e, "P-1", client="ACME")
        timed_project(e, "P-2", client="Globex")
        for code in ("P-1", "P-2"):
            e.complete_task(code, "producer", actor="ana")
            e.complete_task(code, "dev", actor="dev")  # the kick-off gates open: Monday 7th
        clock.to(day(8))
        e.approve("P-2", "qa", actor="qa")
        e.withdraw("P-2", "qa", actor="qa", reason="too early")
        clock.to(day(9))
        e.approve("P-1", "producer", actor="ana")
        e.cancel("P-2", actor="ana", reason="client left")
        clock.to(day(10))
        e.approve("P-1", "qa", actor="qa")
        e.advance("P-1", actor="ana")
        e.complete_task("P-1", "dev", actor="dev")
        clock.to(day(11))
        e.hold("P-1", actor="ana", reason="waiting for the client")
        clock.to(day(14))
        timed_project(e, "P-3", client="ACME")
        clock.to(day(16))
        e.resume("P-1", actor="ana")
        e.advance("P-1", actor="ana")
        e.complete_task("P-1", "qa", actor="qa")
        clock.to(day(21))
        e.reject("P-1", "qa", actor="qa", reason="Fails QA")
        e.complete_task("P-1", "dev", actor="dev")
        clock.to(day(22))
        e.advance("P-1", actor="ana")
        e.complete_task("P-1", "qa", actor="qa")
        clock.to(day(23))
        e.approve("P-1", "qa", actor="qa")
        clock.to(day(24))
        e.advance("P-1", actor="ana")
        clock.move(hours=1)
        yield e


