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
    assert '<span class="due">2026-12-10</span>' in board and '<span class="due">2026-12-08</span>' in board
    assert codes_in(client.get("/projects?sort=due").text) == ["P-2", "P-1"]


@pytest.mark.slow
def test_the_board_filters_the_overdue_and_marks_them(signed_in: tuple[TestClient, MovableClock]) -> None:
    client, clock = signed_in
    assert "No project matches these filters." in client.get("/projects?overdue=1").text
    clock.move(days=2)  # Wednesday 9th: P-2 (due Tuesday 8th) is overdue
    sign_in(client)  # the session of two days ago has lapsed
    late = client.get("/projects?overdue=1").text
    assert codes_in(late) == ["P-2"]
    assert '<span class="overdue">2026-12-08 overdue</span>' in late
    assert 'name="overdue" value="1" checked' in late


def test_the_project_page_shows_the_phase_due_and_the_steps_to_come(signed_in: tuple[TestClient, MovableClock]
                                                                     ) -> None:
    client, _clock = signed_in
    page = client.get("/projects/P-1").text
    assert "Kick-Off due 2026-12-10: 3 working days left" in page
    assert "now · due 2026-12-10" in page
    assert "to come · due 2026-12-17" in page  # Build: five working days, from the day Kick-Off is due
