"""Due dates in working days: templates say how long, calendars say which days count, the lead moves them.

The rules under test are workflow/domain/workdays.py's docstring (and the docs'
"The clock" page, docs/run/clock.md). The clock is a MovableClock: nothing sleeps.
"""

from __future__ import annotations

from datetime import date

import pytest
from support.schedules import TIMED, moved_clock, timed_project

from workflow import Engine
from workflow.domain.schedule import workdays
from workflow.domain.templates.loader import load_definition
from workflow.errors import DefinitionError, NotPermitted, RuleRefused, UsageError

# -- working time ------------------------------------------------------------------------------------


def test_a_due_date_is_the_nth_working_day_after_the_start_day() -> None:
    friday = "2026-12-04T16:00:00.000000Z"
    assert workdays.due_on(friday, "1d", None) == "2026-12-07"  # Monday: the weekend does not count
    assert workdays.due_on(friday, "5d", None) == "2026-12-11"
    assert workdays.due_on("2026-12-07T09:00:00.000000Z", "5d", None) == "2026-12-14"


def test_public_holidays_of_the_projects_calendar_do_not_count() -> None:
    monday = "2026-12-21T09:00:00.000000Z"
    # England: Christmas Day (Friday 25) and Boxing Day observed (Monday 28) are days off.
    assert workdays.due_on(monday, "5d", "GB-ENG") == "2026-12-30"
    assert workdays.due_on(monday, "5d", None) == "2026-12-28"
    # Scotland also takes 2 January (a Saturday in 2027, observed on Monday 4th) beside New Year's Day.
    assert workdays.due_on("2026-12-31T09:00:00.000000Z", "2d", "GB-SCT") == "2027-01-06"
    assert workdays.due_on("2026-12-31T09:00:00.000000Z", "2d", "GB-ENG") == "2027-01-05"


def test_hours_are_hours_of_the_clock_and_days_keep_the_time_of_day() -> None:
    assert workdays.after("2026-12-04T16:00:00.000000Z", "4h", None) == "2026-12-04T20:00:00.000000Z"
    assert workdays.after("2026-12-04T16:00:00.000000Z", "2d", None) == "2026-12-08T16:00:00.000000Z"


def test_days_left_counts_working_days_and_goes_negative_once_overdue() -> None:
    assert workdays.days_left("2026-12-11", date(2026, 12, 4), None) == 5
    assert workdays.days_left("2026-12-04", date(2026, 12, 4), None) == 0
    assert workdays.days_left("2026-12-04", date(2026, 12, 8), None) == -2


@pytest.mark.parametrize(("given", "sentence"), [
    ("XX", "there is no holiday calendar for the country 'XX'"),
    ("GB-XYZ", "GB has no subdivision 'XYZ' (it has: ENG, NIR, SCT, WLS)"),
    ("not a calendar", "'not a calendar' is not a calendar"),
])
def test_an_unknown_calendar_is_refused_with_a_sentence(given: str, sentence: str) -> None:
    with pytest.raises(UsageError) as refused:
        workdays.calendar_code(given)
    assert str(refused.value).startswith(sentence)


def test_calendar_codes_are_case_insensitive() -> None:
    assert workdays.calendar_code("gb-eng") == "GB-ENG"
    assert workdays.calendar_code("fr") == "FR"


# -- templates ---------------------------------------------------------------------------------------


def test_a_template_takes_durations_and_gate_timers() -> None:
    d = load_definition(TIMED)
    kickoff, _build, review = d.phases
    assert kickoff.duration == "3d" and kickoff.gate is not None
    assert (kickoff.gate.remind_after, kickoff.gate.escalate_after, kickoff.gate.escalate_to) == ("2d", "4d", "lead")
    assert review.gate is not None and review.gate.remind_after == "4h" and review.gate.escalate_to is None


@pytest.mark.parametrize(("change", "problem"), [
    (("duration: 3d", "duration: 3 days"),
     "phase 'kickoff' duration must be a number of working days or hours, such as 5d or 4h (1 to 999), not '3 days'"),
    (("escalate_after: 4d", "escalate_after: 1d"),
     "phase 'kickoff' gate escalate_after 1d must come after remind_after 2d"),
    (("escalate_to: lead", "escalate_to: boss"),
     "phase 'kickoff' gate escalate_to 'boss' is not a declared role (declared: producer, dev, qa)"),
    (("      escalate_after: 4d\n", ""),
     "phase 'kickoff' gate escalate_to needs escalate_after (when to escalate)"),
    (("duration: 5d", "duration: 0d"),
     "phase 'build' duration must be a number of working days or hours, such as 5d or 4h (1 to 999), not '0d'"),
])
def test_a_wrong_schedule_key_is_named_with_its_line(change: tuple[str, str], problem: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        load_definition(TIMED.replace(*change), "timed.yaml")
    [found] = refused.value.problems
    assert found.message == problem
    assert found.source == "timed.yaml" and found.line is not None


# -- a project's due dates ---------------------------------------------------------------------------


def test_a_project_on_a_calendar_starts_its_first_phase_with_a_due_date(db_url: str) -> None:
    with moved_clock() as clock, Engine(db_url) as e:
        timed_project(e, calendar="gb-eng")
        st = e.status("P-1")
        assert (st.calendar, st.due, st.overdue, st.due_in_days) == ("GB-ENG", "2026-12-10", False, 3)
        assert st.to_dict()["due"] == "2026-12-10" and "due_in_days" in st.to_dict()
        assert [(r["phase"], r["due"], r["state"]) for r in st.schedule] == [
            ("kickoff", "2026-12-10", "current"), ("build", "2026-12-17", "planned"),
            ("review", "2026-12-21", "planned")]
        clock.move(days=4)  # Friday 11th: a working day past the due date
        st = e.status("P-1")
        assert (st.overdue, st.due_in_days) == (True, -1)
        [summary] = e.list_projects(overdue=True)
        assert summary.code == "P-1" and summary.overdue


def test_a_start_date_later_than_creation_starts_the_clock_then(db_url: str) -> None:
    with moved_clock(), Engine(db_url) as e:
        timed_project(e, starts_on="2027-01-04")
        assert (e.status("P-1").due, e.status("P-1").starts_on) == ("2027-01-07", "2027-01-04")


def test_each_phase_entered_gets_its_own_due_date_and_a_rejection_starts_a_new_one(db_url: str) -> None:
    with moved_clock() as clock, Engine(db_url) as e:
        timed_project(e)
        _through_kickoff(e)
        assert e.status("P-1").due == "2026-12-14"  # entered Monday 7th + 5 working days
        e.complete_task("P-1", "dev", actor="dev")
        clock.move(days=1)
        e.advance("P-1", actor="ana")  # Review, entered Tuesday 8th: 2 working days
        assert e.status("P-1").due == "2026-12-10"
        e.complete_task("P-1", "qa", actor="qa")
        clock.move(days=2)
        e.reject("P-1", "qa", actor="qa", reason="fails on phones")  # back to Build on Thursday 10th
        st = e.status("P-1")
        assert (st.phase, st.round, st.due) == ("build", 2, "2026-12-17")
        assert e.history("P-1")[-1].data["due_on"] == "2026-12-17"  # the due date is on the record


def test_a_hold_stops_the_clock_and_resuming_moves_the_due_date(db_url: str) -> None:
    with moved_clock() as clock, Engine(db_url) as e:
        timed_project(e)
        assert e.status("P-1").due == "2026-12-10"
        e.hold("P-1", actor="ana", reason="client on leave")
        clock.move(days=2)  # Monday to Wednesday: two working days lost
        e.resume("P-1", actor="ana")
        assert e.status("P-1").due == "2026-12-14"
        assert e.history("P-1")[-1].data["due_on"] == "2026-12-14"


def test_the_lead_sets_a_due_date_for_the_current_phase_and_one_to_come(db_url: str) -> None:
    with moved_clock(), Engine(db_url) as e:
        timed_project(e)
        moved = e.set_due("P-1", "kickoff", "2026-12-18", actor="ana", reason="the client moved the meeting")
        assert moved.data | {"previous": "2026-12-10"} == moved.data and moved.data["due_on"] == "2026-12-18"
        e.set_due("P-1", "build", "2027-01-08", actor="ana", reason="holidays")
        st = e.status("P-1")
        assert st.due == "2026-12-18"
        assert [r["due"] for r in st.schedule] == ["2026-12-18", "2027-01-08", "2027-01-12"]
        _through_kickoff(e)
        assert e.status("P-1").due == "2027-01-08"  # the date set ahead is the first round's


def test_only_the_lead_moves_due_dates_and_never_of_a_phase_behind(db_url: str) -> None:
    with moved_clock(), Engine(db_url) as e:
        timed_project(e)
        with pytest.raises(NotPermitted, match="only the Producer may set the due dates of P-1"):
            e.set_due("P-1", "kickoff", "2026-12-18", actor="dev", reason="more time")
        with pytest.raises(UsageError, match="has no phase 'launch'"):
            e.set_due("P-1", "launch", "2026-12-18", actor="ana", reason="x")
        with pytest.raises(UsageError, match="is not a date"):
            e.set_due("P-1", "kickoff", "18/12/2026", actor="ana", reason="x")
        _through_kickoff(e)
        with pytest.raises(RuleRefused, match="Kick-Off is behind P-1"):
            e.set_due("P-1", "kickoff", "2026-12-18", actor="ana", reason="x")


def test_the_past_is_rebuilt_with_its_due_dates_and_the_audit_replays_them(db_url: str) -> None:
    with moved_clock() as clock, Engine(db_url) as e:
        timed_project(e, calendar="GB-ENG")
        before = clock.move(hours=1)
        clock.move(hours=1)
        e.set_due("P-1", "kickoff", "2026-12-18", actor="ana", reason="later")
        e.set_due("P-1", "review", "2027-01-29", actor="ana", reason="later")
        assert e.status("P-1", at=before).due == "2026-12-10"
        assert e.status("P-1").due == "2026-12-18"
        report = e.verify_audit()
        assert report.ok and report.state_checked, report


def _through_kickoff(e: Engine) -> None:
    e.complete_task("P-1", "producer", actor="ana")
    e.complete_task("P-1", "dev", actor="dev")
    e.approve("P-1", "producer", actor="ana")
    e.approve("P-1", "qa", actor="qa")
    e.advance("P-1", actor="ana")


def test_the_report_compares_each_visit_with_its_plan(db_url: str) -> None:
    with moved_clock() as clock, Engine(db_url) as e:
        timed_project(e)
        clock.move(days=1)
        _through_kickoff(e)  # Kick-Off ends Tuesday 8th, due Thursday 10th: on time
        clock.move(days=10)  # Build (due Tuesday 15th) still open on Friday 18th: overdue
        report = e.report("P-1")
        kickoff, build = report.visits
        assert (kickoff.planned, kickoff.due_on, kickoff.late) == ("3d", "2026-12-10", False)
        assert (build.planned, build.due_on, build.late) == ("5d", "2026-12-15", True)
        from workflow.reports.text import report_lines

        lines = report_lines(report)
        assert "  schedule: planned 3d, due 2026-12-10: on time" in lines
        assert "  schedule: planned 5d, due 2026-12-15: overdue" in lines
