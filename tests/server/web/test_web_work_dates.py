"""My work with dates (issue 21, item 2): each item names its task ("Brief", not the phase), its
due date, "overdue" in words, and the list runs overdue first, then by due date, then the longest
waiting; ``/me/work`` carries the same fields. Server-rendered HTML and JSON, no browser."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from support.apiclients import api
from support.schedules import MovableClock, moved_clock, timed_project

from workflow import Engine

PASSWORD = "correct horse battery"


@pytest.fixture
def late(db_url: str) -> Iterator[TestClient]:
    """ana (producer of P-1, P-2, P-3) on Wednesday 9 December: P-2 was due on the 8th (overdue),
    P-3 is due today, P-1 tomorrow; P-1 changed last, P-3 first."""
    with moved_clock() as clock, Engine(db_url) as engine:
        for code in ("P-3", "P-2", "P-1"):
            timed_project(engine, code)
            clock.move(minutes=5)
        engine.set_due("P-2", "kickoff", "2026-12-08", actor="ana", reason="rush")
        engine.set_due("P-3", "kickoff", "2026-12-09", actor="ana", reason="rush")
        engine.add_user("ana", actor="ana")
        engine.set_password("ana", PASSWORD, actor="ana")
        clock.move(days=2)
        with api(db_url) as client:
            signed_in(client, clock)
            yield client


def signed_in(client: TestClient, _clock: MovableClock) -> None:
    assert client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD}).status_code == 200


def test_my_work_json_gives_each_task_its_title_and_due_date_overdue_first(late: TestClient) -> None:
    work = late.get("/api/v1/me/work").json()
    tasks = work["tasks"]
    assert [t["project"] for t in tasks] == ["P-2", "P-3", "P-1"]
    assert [t["title"] for t in tasks] == ["Brief"] * 3
    assert [(t["due"], t["overdue"]) for t in tasks] == [
        ("2026-12-08", True), ("2026-12-09", False), ("2026-12-10", False)]
    assert tasks[0]["due_in_days"] < 0
    assert {"phase", "phase_title", "role", "role_title", "since", "seq"} <= set(tasks[0])  # as before


def test_my_work_page_names_the_task_and_says_overdue_in_words(late: TestClient) -> None:
    page = late.get("/").text
    tasks = page[page.index('id="h-tasks"'):page.index("</section>", page.index('id="h-tasks"'))]
    assert re.findall(r'href="/projects/(P-\d)"', tasks) == ["P-2", "P-3", "P-1"]
    assert tasks.count('<strong class="owed">Brief</strong>') == 3
    assert 'Overdue: due <time datetime="2026-12-08">8 Dec 2026</time>' in tasks
    assert 'Due <time datetime="2026-12-09">9 Dec 2026</time>' in tasks
    assert tasks.count("Overdue") == 1
