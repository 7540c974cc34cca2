"""Schedules where people meet them: the CLI (on the database and through a server), and the
calendar feed a calendar program subscribes to.

The clock is the tests' own (``schedules.moved_clock``): Monday 7 December 2026, 09:00 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from icalendar import Calendar
from support.apiclients import api, bearer
from support.cli_runs import TRANSPORTS, Run, cli_session
from support.schedules import TIMED, MovableClock, moved_clock

from workflow import Engine


@pytest.fixture(params=TRANSPORTS)
def run(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[tuple[Run, MovableClock]]:
    """``phasegate`` on a database with P-1 on the timed template (producer ana, dev, qa)."""
    (tmp_path / "timed.yaml").write_text(TIMED)
    with moved_clock() as clock, cli_session(db_url, request.param) as phasegate:
        assert phasegate("init", "--admin", "ana").exit_code == 0
        for args in (("template", "publish", str(tmp_path / "timed.yaml")),
                     ("project", "create", "P-1", "--template", "timed-team", "--calendar", "GB-ENG"),
                     ("project", "assign", "P-1", "producer", "ana"), ("project", "assign", "P-1", "dev", "dev"),
                     ("project", "assign", "P-1", "qa", "qa")):
            result = phasegate(*args)
            assert result.exit_code == 0, (args, result.output)
        yield phasegate, clock


def test_status_shows_each_phases_due_date_and_days_left(run: tuple[Run, MovableClock]) -> None:
    phasegate, _clock = run
    shown = phasegate("project", "status", "P-1")
    assert "Schedule (calendar GB-ENG):" in shown.output
    assert "  Kick-Off  current  3d  2026-12-10 (3 working days left)" in shown.output
    assert "  Review    planned  2d  2026-12-21" in shown.output
    doc = json.loads(phasegate("project", "status", "P-1", as_json=True).output)
    assert (doc["due"], doc["overdue"], doc["due_in_days"]) == ("2026-12-10", False, 3)
    assert [(row["phase"], row["due"]) for row in doc["schedule"]] == [
        ("kickoff", "2026-12-10"), ("build", "2026-12-17"), ("review", "2026-12-21")]


def test_the_lead_moves_a_due_date_with_a_reason_and_others_are_refused(run: tuple[Run, MovableClock]) -> None:
    phasegate, _clock = run
    moved = phasegate("project", "due", "P-1", "kickoff", "2026-12-14", "--reason", "client away")
    assert moved.exit_code == 0, moved.output
    assert "P-1: Kick-Off due 2026-12-14" in moved.output
    refused = phasegate("project", "due", "P-1", "kickoff", "2026-12-15", "--reason", "mine", actor="dev")
    assert refused.exit_code == 4, refused.output
    assert "only the Producer may set the due dates of P-1" in refused.output
    bad = phasegate("project", "due", "P-1", "kickoff", "14/12/2026", "--reason", "x")
    assert bad.exit_code == 2, bad.output
    last = json.loads(phasegate("history", "P-1", "--last", "1", as_json=True).output.splitlines()[-1])
    assert (last["action"], last["data"]["due_on"], last["data"]["reason"]) == ("due", "2026-12-14", "client away")


def test_the_board_filters_and_sorts_by_due_date(run: tuple[Run, MovableClock]) -> None:
    phasegate, clock = run
    assert phasegate("project", "create", "P-2", "--template", "timed-team").exit_code == 0
    assert phasegate("project", "assign", "P-2", "producer", "ana").exit_code == 0
    assert phasegate("project", "due", "P-2", "kickoff", "2026-12-08", "--reason", "rush").exit_code == 0
    by_due = json.loads(phasegate("project", "list", "--sort", "due", as_json=True).output)
    assert [p["code"] for p in by_due] == ["P-2", "P-1"]
    clock.move(days=2)  # Wednesday 9th: P-2 (due Tuesday 8th) is overdue, P-1 (Thursday 10th) is not
    late = json.loads(phasegate("project", "list", "--overdue", as_json=True).output)
    assert [(p["code"], p["overdue"]) for p in late] == [("P-2", True)]
    assert "overdue" in phasegate("project", "list", "--overdue").output


def test_tick_from_the_command_line_reminds_once(run: tuple[Run, MovableClock]) -> None:
    phasegate, clock = run
    for role, person in (("producer", "ana"), ("dev", "dev")):
        assert phasegate("task", "done", "P-1", role, actor=person).exit_code == 0
    clock.move(days=2, hours=1)  # the gate opened on Monday: its signers are owed a reminder
    first = phasegate("tick")
    assert first.exit_code == 0, first.output
    assert "1 reminded" in first.output and "P-1 #" in first.output
    again = phasegate("tick", as_json=True)
    assert json.loads(again.output)["events"] == []


def test_tick_now_tries_a_schedule_out_on_either_transport_and_records_nothing(run: tuple[Run, MovableClock]
                                                                              ) -> None:
    """A try-out (tests/engine/test_tick_tryout.py has the rest): what a tick then would give."""
    phasegate, _clock = run
    tried = phasegate("tick", "--now", "2026-12-11T10:00:00Z")
    assert tried.exit_code == 0, tried.output
    assert "nothing was written" in tried.output and "1 overdue" in tried.output
    assert not [line for line in phasegate("history", "P-1", as_json=True).output.splitlines()
                if json.loads(line)["action"] == "overdue"]


def test_my_calendar_file_holds_my_due_dates(run: tuple[Run, MovableClock], tmp_path: Path) -> None:
    phasegate, _clock = run
    out = tmp_path / "qa.ics"
    written = phasegate("calendar", "--person", "qa", "--output", str(out), actor="qa")
    assert written.exit_code == 0, written.output
    events = [c for c in Calendar.from_ical(out.read_bytes()).walk("VEVENT")]
    assert [(str(e["SUMMARY"]), e.decoded("DTSTART").isoformat()) for e in events] == [
        ("P-1: Kick-Off (your signature)", "2026-12-10"), ("P-1: Review (planned)", "2026-12-21")]
    refused = phasegate("calendar", "--person", "qa", actor="dev")
    assert refused.exit_code == 4, refused.output


# -- the feed over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def feed_server(db_url: str) -> Iterator[tuple[object, dict[str, str]]]:
    with moved_clock(), Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.publish_template(TIMED, actor="ana")
        engine.create_project("P-1", template="timed-team", actor="ana")
        tokens = {}
        for role, person in (("producer", "ana"), ("dev", "dev"), ("qa", "qa")):
            engine.add_user(person, actor="ana")
            engine.assign("P-1", role, person, actor="ana")
            tokens[person] = engine.create_token(actor=person, name="tests")[1]
        with api(db_url) as client:
            yield client, tokens


def test_a_calendar_program_reads_my_feed_with_its_key_and_a_new_key_revokes_the_old(
    feed_server: tuple[object, dict[str, str]],
) -> None:
    client, tokens = feed_server
    made = client.post("/api/v1/me/calendar-key", headers=bearer(tokens["dev"]))  # type: ignore[attr-defined]
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert "/api/v1/me/calendar.ics?key=pgc_" in url
    feed = client.get(url)  # type: ignore[attr-defined]  # no credentials: the key is the way in
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    first = [(str(e["UID"]), str(e["SUMMARY"])) for e in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert ("P-1-kickoff-r1-dev@phasegate", "P-1: Kick-Off (your task)") in first
    assert first == [(str(e["UID"]), str(e["SUMMARY"]))  # a refresh updates the same entries
                     for e in Calendar.from_ical(client.get(url).content).walk("VEVENT")]  # type: ignore[attr-defined]
    newer = client.post("/api/v1/me/calendar-key", headers=bearer(tokens["dev"])).json()["url"]  # type: ignore[attr-defined]
    old = client.get(url)  # type: ignore[attr-defined]
    assert old.status_code == 401, old.text
    assert "not valid (any more)" in old.json()["error"]["message"]
    assert client.get(newer).status_code == 200  # type: ignore[attr-defined]


def test_the_feed_refuses_a_wrong_key_and_another_persons_calendar(
    feed_server: tuple[object, dict[str, str]],
) -> None:
    client, tokens = feed_server
    assert client.get("/api/v1/me/calendar.ics?key=pgc_forged").status_code == 401  # type: ignore[attr-defined]
    assert client.get("/api/v1/me/calendar.ics").status_code == 401  # type: ignore[attr-defined]
    mine = client.get("/api/v1/me/calendar.ics", headers=bearer(tokens["qa"]))  # type: ignore[attr-defined]
    assert mine.status_code == 200
    theirs = client.get("/api/v1/me/calendar.ics?person=dev", headers=bearer(tokens["qa"]))  # type: ignore[attr-defined]
    assert theirs.status_code == 403, theirs.text
