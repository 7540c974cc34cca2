"""The history's and the audit search's filters refuse what can match nothing, with the valid choices,
rather than answer "no events" (an auditor would conclude there were none); both accept the clock's
actions (issue 21, item 9)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.schedules import moved_clock, timed_project

from workflow import Engine
from workflow.domain.vocabulary import CLOCK_ACTIONS, EVENT_ACTIONS, HISTORY_ACTIONS
from workflow.engine.schedule.tick import tick
from workflow.errors import UsageError


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """P-1 on the timed template, its gate waiting two days: tick has reminded its signers."""
    with moved_clock() as clock, Engine(db_url) as e:
        timed_project(e)
        e.complete_task("P-1", "producer", actor="ana")
        e.complete_task("P-1", "dev", actor="dev")
        clock.move(days=2, hours=1)
        assert tick(e.store).events
        yield e


def test_the_history_filters_by_the_clocks_actions(engine: Engine) -> None:
    reminders = list(engine.iter_history("P-1", reader="ana", action="remind"))
    assert reminders and {e.action for e in reminders} == {"remind"}
    assert set(CLOCK_ACTIONS) <= set(HISTORY_ACTIONS) <= set(EVENT_ACTIONS)
    assert [e.action for e in engine.search_events(reader="ana", action="remind")] == ["remind"] * len(reminders)


@pytest.mark.parametrize("action", ["rejected", "Reject"])
def test_the_audit_search_refuses_an_unknown_action_with_the_choices(engine: Engine, action: str) -> None:
    with pytest.raises(UsageError, match=f"unknown action '{action}'; use one of: .*reject.*remind"):
        engine.search_events(reader="ana", action=action)


def test_since_after_until_is_refused_by_the_search_and_the_history(engine: Engine) -> None:
    with pytest.raises(UsageError, match="is after until"):
        engine.search_events(reader="ana", since="2026-12-10", until="2026-12-01")
    with pytest.raises(UsageError, match="is after until"):
        list(engine.iter_history("P-1", reader="ana", since="2026-12-10", until="2026-12-01"))
    assert engine.search_events(reader="ana", since="2026-12-01", until="2026-12-10")  # the right way round


def test_every_action_a_project_records_is_a_history_action(engine: Engine) -> None:
    engine.set_due("P-1", "kickoff", "2026-12-18", actor="ana", reason="client holiday")
    recorded = {e.action for e in engine.history("P-1")}
    assert recorded <= set(HISTORY_ACTIONS)
    assert [e.action for e in engine.iter_history("P-1", reader="ana", action="due")] == ["due"]
