"""Due dates in the web app: the board shows, filters and sorts by them, the project page
shows the current phase's and each step's (server-rendered HTML; the browser tests cover the
rest of the pages)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from support.apiclients import api
from support.schedules import MovableClock, moved_clock, timed_project

from workflow import Engine

PASSWORD = "correct horse battery"
# The web layer's share of the quick loop (`-m "not slow"`): the board and the project page, server-rendered,
# on SQLite (about 1.3 s each here, 2026-12-07: a sign-in checks an argon2id hash). Every other web test
# drives Chromium or fuzzes every form, and is marked slow.


@pytest.fixture
def signed_in(db_url: str) -> Iterator[tuple[TestClient, MovableClock]]:
    """ana (admin and producer of P-1 and P-2) signed in to the web app; P-2 due a day early."""
    with moved_clock() as clock, Engine(db_url) as engine:
        timed_project(engine, "P-1")
        timed_project(engine, "P-2")
        engine.set_due("P-2", "kickoff", "2026-12-08", actor="ana", reason="rush")
        engine.add_user("ana", actor="ana")
        engine.set_password("ana", PASSWORD, actor="ana")
        with api(db_url) as client:
            sign_in(client)
            yield client, clock


def sign_in(client: TestClient) -> None:
    assert client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD}).status_code == 200


def codes_in(page: str) -> list[str]:
    return re.findall(r'href="/projects/(P-\d)"', page)


def test_the_board_shows_each_due_date_and_orders_by_it(signed_in: tuple[TestClient, MovableClock]) -> None:
    client, _clock = signed_in
    board = client.get("/projects").text
    assert '<th scope="col">Due</th>' in board
    assert '<span class="due"><time datetime="2026-12-10">10 Dec 2026</time></span>' in board
    assert '<span class="due"><time datetime="2026-12-08">8 Dec 2026</time></span>' in board
    assert codes_in(client.get("/projects?sort=due").text) == ["P-2", "P-1"]


@pytest.mark.slow
def test_the_board_filters_the_overdue_and_marks_them(signed_in: tuple[TestClient, MovableClock]) -> None:
    client, clock = signed_in
    assert "No project matches these filters." in client.get("/projects?overdue=1").text
    clock.move(days=2)  # Wednesday 9th: P-2 (due Tuesday 8th) is overdue
    sign_in(client)  # the session of two days ago has lapsed
    late = client.get("/projects?overdue=1").text
    assert codes_in(late) == ["P-2"]
    assert '<span class="overdue"><time datetime="2026-12-08">8 Dec 2026</time> overdue</span>' in late
    assert 'name="overdue" value="1" checked' in late


def test_the_project_page_shows_the_phase_due_and_the_steps_to_come(signed_in: tuple[TestClient, MovableClock]
                                                                     ) -> None:
    client, _clock = signed_in
    page = client.get("/projects/P-1").text
    assert 'Kick-Off due <time datetime="2026-12-10">10 Dec 2026</time>: 3 working days left' in page
    assert 'now · due <time datetime="2026-12-10">10 Dec 2026</time>' in page
    # Build: five working days, from the day Kick-Off is due
    assert 'to come · due <time datetime="2026-12-17">17 Dec 2026</time>' in page


def test_the_lead_sets_and_moves_a_due_date_from_the_project_page(signed_in: tuple[TestClient, MovableClock]
                                                                  ) -> None:
    """Issue 21, item 8: the form comes from the command's declaration (set_due), its answer is a
    redirect (a refusal too), and the page shows the date it set."""
    client, _clock = signed_in
    page = client.get("/projects/P-1").text
    assert 'aria-label="Set or move a due date"' in page and 'name="day" type="date"' in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    seq = re.search(r'name="seq" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf": csrf, "seq": seq, "action": "due", "phase": "build", "day": "2026-12-24",
            "reason": "the client's launch moved"}
    moved = client.post("/projects/P-1/do", data=form, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/projects/P-1"
    page = client.get("/projects/P-1").text
    assert '<th scope="row">Build</th><td><time datetime="2026-12-24">24 Dec 2026</time></td>' in page
    refused = client.post("/projects/P-1/do", data={**form, "seq": str(int(seq) + 1), "day": "not a day"},
                          follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/projects/P-1"
    assert 'role="alert"' in client.get("/projects/P-1").text


def test_a_project_is_created_with_a_start_date_and_a_calendar_from_the_board(
        signed_in: tuple[TestClient, MovableClock], db_url: str) -> None:
    client, _clock = signed_in
    board = client.get("/projects").text
    assert 'id="n-start" name="starts_on" type="date"' in board and 'id="n-calendar" name="calendar"' in board
    csrf = re.search(r'name="csrf" value="([^"]+)"', board).group(1)  # type: ignore[union-attr]
    made = client.post("/projects", data={"csrf": csrf, "code": "P-9", "template": "timed-team",
                                          "starts_on": "2026-12-14", "calendar": "gb-eng"},
                       follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/projects/P-9"
    with Engine(db_url) as engine:
        st = engine.status("P-9")
    assert (st.starts_on, st.calendar) == ("2026-12-14", "GB-ENG")
    page = client.get("/projects/P-9").text
    assert "GB-ENG calendar" in page and 'starts <time datetime="2026-12-14">14 Dec 2026</time>' in page
