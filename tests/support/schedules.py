"""A template with a schedule, a clock the tests move, and a staffed project on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from workflow import Engine
from workflow.storage.database import set_clock

TIMED = """\
key: timed-team
title: Timed team
roles:
  producer: {title: Producer}
  dev: {title: Developer}
  qa: {title: QA Lead}
lead: producer
phases:
  - key: kickoff
    title: Kick-Off
    duration: 3d
    tasks: {producer: Brief, dev: Estimate}
    gate:
      title: Kick-off sign-off
      approvers: [producer, qa]
      remind_after: 2d
      escalate_after: 4d
      escalate_to: lead
  - key: build
    title: Build
    duration: 5d
    tasks: {dev: Build it}
  - key: review
    title: Review
    duration: 2d
    tasks: {qa: Test it}
    gate:
      title: QA sign-off
      approvers: [qa]
      on_reject: build
      remind_after: 4h
"""
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday 7 December 2026, 09:00 UTC


class MovableClock:
    """The time every phasegate call in this process sees; tests move it, never sleep."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> str:
        self.at += timedelta(**delta)
        return self.text()

    def to(self, at: datetime) -> str:
        self.at = at
        return self.text()

    def text(self) -> str:
        return self.at.isoformat(timespec="microseconds")[:-6] + "Z"


@contextmanager
def moved_clock(start: datetime = MONDAY) -> Iterator[MovableClock]:
    clock = MovableClock(start)
    set_clock(clock.now)
    try:
        yield clock
    finally:
        set_clock(None)


def timed_project(engine: Engine, code: str = "P-1", **create: str) -> None:
    """A staffed project on TIMED: producer ana, developer dev, QA lead qa (ana is admin)."""
    if "timed-team" not in engine.template_keys():
        engine.init(admin="ana")
        engine.publish_template(TIMED, actor="ana")
    engine.create_project(code, template="timed-team", actor="ana", **create)
    for role, person in (("producer", "ana"), ("dev", "dev"), ("qa", "qa")):
        engine.assign(code, role, person, actor="ana")
