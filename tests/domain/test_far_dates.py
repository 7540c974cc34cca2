"""A date a person gives is bounded (20 years either side of today, ``limits.DATE_YEARS``) on every
way in, and a date already stored beyond it — by an older phasegate, or with SQL — breaks no read.

The clock is the tests' own (``schedules.moved_clock``): Monday 7 December 2026, 09:00 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from icalendar import Calendar
from sqlalchemy import text
from support.apiclients import api, bearer, error_of
from support.cli_runs import TRANSPORTS, Run, cli_runner, cli_session
from support.schedules import TIMED, moved_clock, timed_project

from workflow import Engine
from workflow.domain.audit.events import new_event
from workflow.errors import UsageError

FAR = ("9999-12-31", "0001-01-01")


@pytest.fixture(params=TRANSPORTS)
def run(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Run]:
    """``phasegate`` on a database with P-1 on the timed template (producer ana)."""
    (tmp_path / "timed.yaml").write_text(TIMED)
    with moved_clock(), cli_session(db_url, request.param) as phasegate:
        for args in (("init", "--admin", "ana"), ("template", "publish", str(tmp_path / "timed.yaml")),
                     ("project", "create", "P-1", "--template", "timed-team"),
                     ("project", "assign", "P-1", "producer", "ana")):
            result = phasegate(*args)
            assert result.exit_code == 0, (args, result.output)
        yield phasegate


def test_a_date_more_than_twenty_years_from_today_is_refused_on_the_command_line(run: Run) -> None:
    """Both transports: ``project due`` and ``project create --start`` refuse it with a sentence."""
    for day in ("9999-12-31", "2046-12-08", "2006-12-06"):
        refused = run("project", "due", "P-1", "kickoff", day, "--reason", "far")
        assert refused.exit_code == 2, refused.output
        assert "more than 20 years from today (2026-12-07)" in refused.output, refused.output
        assert "Traceback" not in refused.output
    started = run("project", "create", "P-2", "--template", "timed-team", "--start", "9999-12-20")
    assert started.exit_code == 2 and "more than 20 years from today" in started.output, started.output
    assert run("project", "due", "P-1", "kickoff", "2046-12-07", "--reason", "far, but within").exit_code == 0
    assert run("project", "create", "P-3", "--template", "timed-team", "--start", "2006-12-07").exit_code == 0
    assert run("project", "list").exit_code == 0


def test_a_date_more_than_twenty_years_from_today_is_refused_422_over_http(db_url: str) -> None:
    with moved_clock(), Engine(db_url) as engine:
        timed_project(engine, "P-1")
        engine.add_user("ana", actor="ana")
        token = engine.create_token(actor="ana", name="tests")[1]
        with api(db_url) as client:
            due = client.put("/api/v1/projects/P-1/due/kickoff", headers=bearer(token),
                             json={"date": "9999-12-31", "reason": "far"})
            assert due.status_code == 422, due.text
            assert "more than 20 years from today" in error_of(due)["message"]
            created = client.post("/api/v1/projects", headers=bearer(token),
                                  json={"code": "P-2", "template": "timed-team", "starts_on": "9999-12-20"})
            assert created.status_code == 422, created.text
            assert error_of(created)["kind"] == "bad_input"
            assert client.get("/api/v1/projects", headers=bearer(token)).status_code == 200


def test_a_date_more_than_twenty_years_from_today_is_refused_by_the_python_api(db_url: str) -> None:
    with moved_clock(), Engine(db_url) as engine:
        timed_project(engine, "P-1")
        with pytest.raises(UsageError, match="more than 20 years from today"):
            engine.set_due("P-1", "kickoff", "9999-12-31", actor="ana", reason="far")
        with pytest.raises(UsageError, match="more than 20 years from today"):
            engine.create_project("P-2", template="timed-team", actor="ana", starts_on="9999-12-20")
        assert [p.code for p in engine.list_projects()] == ["P-1"]


# -- a far date already stored ------------------------------------------------------------------------


def store_far_dates(url: str, code: str, day: str) -> None:
    """What an older phasegate (or someone with SQL) leaves behind: a ``due`` event with ``day`` on the
    chain (valid hashes), and the project's schedule columns at that edge of the calendar."""
    moment = f"{day}T{'23:59:59.999999' if day > '5000' else '00:00:00.000000'}Z"
    client = sqlalchemy.create_engine(url)
    try:
        with client.begin() as conn:
            row = conn.execute(text("SELECT seq, head_hash, phase, round, updated_at FROM projects "
                                    "WHERE code = :code"), {"code": code}).one()
            data = {"round": row.round, "for_phase": row.phase, "for_phase_title": "Kick-Off", "due_on": day,
                    "previous": None, "reason": "far", "auth": "asserted", "role": "producer"}
            event = new_event(code, row.seq + 1, row.head_hash, row.updated_at, "ana", "due", row.phase, data)
            conn.execute(text("INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
                              "VALUES (:chain, :seq, :at, :actor, :action, :phase, :data, :prev_hash, :hash)"),
                         {"chain": code, "seq": event.seq, "at": event.at, "actor": event.actor,
                          "action": event.action, "phase": event.phase, "data": event.data_json,
                          "prev_hash": event.prev_hash, "hash": event.hash})
            conn.execute(text("UPDATE projects SET seq = :seq, head_hash = :hash, due_on = :day, starts_on = :day,"
                              " planned_due = :planned, gate_opened_at = :moment, "
                              " next_tick_at = '2026-12-01T00:00:00.000000Z' WHERE code = :code"),
                         {"seq": event.seq, "hash": event.hash, "day": day, "moment": moment, "code": code,
                          "planned": json.dumps({"build": day, "review": day})})
    finally:
        client.dispose()


@pytest.mark.parametrize("day", FAR)
def test_a_far_date_stored_in_the_database_breaks_no_read(db_url: str, day: str) -> None:
    """Board, /me/work, status, calendar, history, report and tick through the Python API."""
    with moved_clock(), Engine(db_url) as engine:
        timed_project(engine, "T-1")
        timed_project(engine, "T-2")
        store_far_dates(db_url, "T-1", day)
        board = {p.code: p for p in engine.list_projects()}
        assert board["T-1"].due == day
        assert next(p.code for p in engine.list_projects(sort="due")) == ("T-2" if day > "5000" else "T-1")
        engine.list_projects(overdue=True)
        engine.work_of("qa")
        status = engine.status("T-1")
        assert status.due == day and status.due_in_days is None  # too far to count in working days
        assert status.overdue is (day < "2026")
        Calendar.from_ical(engine.calendar("qa", reader="qa"))
        assert engine.history("T-1")[-1].data["due_on"] == day
        engine.report("T-1")
        engine.status_at("T-1", "2026-12-07T09:00:00Z")
        ticked = engine.tick()
        assert {e.chain for e in ticked.events} <= {"T-1"}
        engine.status("T-1")
        engine.complete_task("T-1", "dev", actor="dev")  # a command on it still works
        engine.complete_task("T-1", "producer", actor="ana")
        engine.hold("T-1", reason="wait", actor="ana")
        engine.resume("T-1", actor="ana")
        engine.status("T-1")


@pytest.mark.parametrize("day", FAR)
@pytest.mark.slow
def test_a_far_date_stored_in_the_database_breaks_no_page_or_endpoint(db_url: str, day: str) -> None:
    """The API, the web app's board, home (/me/work) and project pages, and the calendar feed answer 200
    to an admin, an auditor and a member."""
    with moved_clock(), Engine(db_url) as engine:
        timed_project(engine, "T-1")
        tokens = {}
        for person in ("ana", "aud", "qa"):
            engine.add_user(person, actor="ana")
            tokens[person] = engine.create_token(actor=person, name="tests")[1]
        engine.grant("aud", "auditor", actor="ana")
        store_far_dates(db_url, "T-1", day)
        with api(db_url) as client:
            for person, token in tokens.items():
                h = bearer(token)
                for path in ("/api/v1/projects", "/api/v1/projects?sort=due", "/api/v1/projects?overdue=true",
                             "/api/v1/me/work", "/api/v1/projects/T-1", "/api/v1/projects/T-1/history",
                             "/api/v1/projects/T-1/report", "/api/v1/me/calendar.ics", "/api/v1/audit/verify"):
                    got = client.get(path, headers=h)
                    may_refuse = person == "qa" and path.startswith("/api/v1/audit")  # a member: not the audit
                    assert got.status_code == 200 or may_refuse, (person, path, got.text[:300])
            proxied = {"X-Forwarded-User": "qa"}
        with api(db_url, client=("127.0.0.1", 50000)) as web:
            for path in ("/", "/projects", "/projects?sort=due", "/projects/T-1"):
                page = web.get(path, headers=proxied)
                assert page.status_code == 200, (path, page.text[:300])
                assert day in web.get("/projects/T-1", headers=proxied).text


@pytest.mark.parametrize("day", FAR)
def test_a_far_date_stored_in_the_database_breaks_no_command_line_read(db_url: str, day: str) -> None:
    with moved_clock(), Engine(db_url) as engine:
        timed_project(engine, "T-1")
    store_far_dates(db_url, "T-1", day)
    with moved_clock():
        phasegate = cli_runner(db_url)
        for args in (("project", "list"), ("project", "list", "--sort", "due"), ("project", "status", "T-1"),
                     ("calendar", "--person", "qa"), ("history", "T-1"), ("report", "T-1"),
                     ("tick",)):
            for as_json in (False, True):
                shown = phasegate(*args, as_json=as_json)
                assert shown.exit_code == 0, (args, shown.output)
                assert "Traceback" not in shown.output and "OverflowError" not in shown.output


# -- the arithmetic at the calendar's edges --------------------------------------------------------


def test_working_day_sums_stop_at_the_calendars_last_day_instead_of_overflowing() -> None:
    from datetime import date

    from workflow.domain.schedule import workdays

    assert workdays.add_working_days(date(9999, 12, 28), 5, None) == date(9999, 12, 31)
    assert workdays.due_on("9999-12-31T12:00:00.000000Z", "3d", "GB-ENG") == "9999-12-31"
    assert workdays.due_on("9999-12-31T12:00:00.000000Z", "30h", None) == "9999-12-31"
    assert workdays.after("9999-12-31T23:59:59.999999Z", "4h", None) == "9999-12-31T23:59:59.999999Z"
    assert workdays.after("9999-12-30T10:00:00.000000Z", "2d", None) == "9999-12-31T10:00:00.000000Z"
    assert workdays.shift_for_hold("9999-12-31", "9999-12-31T00:00:00.000000Z", "2026-12-07T09:00:00.000000Z",
                                   "2026-12-21T09:00:00.000000Z", None) == ("9999-12-31", "9999-12-31T23:59:59.999999Z")
    assert workdays.days_left("9999-12-31", date(2026, 12, 7), "GB-ENG") is None
    assert workdays.days_left("0001-01-01", date(2026, 12, 7), None) is None
    assert workdays.days_left("not a date", date(2026, 12, 7), None) is None
    assert workdays.days_left("2066-12-07", date(2026, 12, 7), None) == workdays.working_days_in(
        date(2026, 12, 8), date(2066, 12, 8), None)


@pytest.mark.parametrize("calendar", [None, "GB-ENG", "US-NY", "FR"])
def test_working_days_are_counted_as_a_walk_day_by_day_would(calendar: str | None) -> None:
    """The arithmetic count (weeks, less each year's holidays) against the plain walk, on spans that
    start on every weekday, cross years and observed holidays, up to a few years long."""
    import random
    from datetime import date, timedelta

    from workflow.domain.schedule import workdays

    is_working = workdays.working_day(calendar)
    pick = random.Random(19)
    for _ in range(60):
        first = date(2020, 1, 1) + timedelta(days=pick.randrange(3000))
        end = first + timedelta(days=pick.choice([0, 1, 2, 6, 7, 8, 13, 30, 365, pick.randrange(1500)]))
        walked = sum(1 for n in range((end - first).days) if is_working(first + timedelta(days=n)))
        assert workdays.working_days_in(first, end, calendar) == walked, (first, end)
        assert workdays.days_left(end.isoformat(), first, calendar) == sum(
            1 for n in range(1, (end - first).days + 1) if is_working(first + timedelta(days=n)))
