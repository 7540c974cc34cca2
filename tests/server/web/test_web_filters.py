"""The web's history filters, server-rendered: the audit search and the project's history filter offer
every action (the clock's included) and refuse what can match nothing with the valid choices, rather than
answer "No events match." (issue 21, item 9)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from support.apiclients import api
from support.schedules import moved_clock, timed_project

from workflow import Engine
from workflow.engine.schedule.tick import tick

PASSWORD = "correct horse battery"


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """ana (admin, producer of P-1) signed in; tick has reminded P-1's waiting signers."""
    with moved_clock() as clock, Engine(db_url) as engine:
        timed_project(engine, "P-1")
        engine.complete_task("P-1", "producer", actor="ana")
        engine.complete_task("P-1", "dev", actor="dev")
        clock.move(days=2, hours=1)
        assert tick(engine.store).events
        engine.add_user("ana", actor="ana")
        engine.set_password("ana", PASSWORD, actor="ana")
        with api(db_url) as c:
            assert c.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD}).status_code == 200
            yield c


def options(page: str, select_id: str) -> list[str]:
    start = page.index(f'<select id="{select_id}"')
    block = page[start:page.index("</select>", start)]
    return [v for v in (part.split('"', 1)[0] for part in block.split('<option value="')[1:]) if v]


def test_the_audit_search_offers_every_action_and_refuses_an_unknown_one(client: TestClient) -> None:
    page = client.get("/audit").text
    assert {"reject", "remind", "escalate", "overdue", "grant"} <= set(options(page, "s-action"))
    found = client.get("/audit?action=remind")
    assert found.status_code == 200 and "No events match." not in found.text
    for bad in ("rejected", "Reject"):
        refused = client.get(f"/audit?action={bad}")
        text = html.unescape(refused.text)
        assert refused.status_code == 422, refused.status_code
        assert f"unknown action '{bad}'; use one of:" in text and "No events match." not in text


def test_the_audit_search_refuses_since_after_until(client: TestClient) -> None:
    refused = client.get("/audit?since=2026-12-10&until=2026-12-01")
    assert refused.status_code == 422
    assert "is after until" in html.unescape(refused.text) and "No events match." not in refused.text


def test_the_projects_history_filter_offers_the_clocks_actions(client: TestClient) -> None:
    page = client.get("/projects/P-1").text
    offered = options(page, "h-action")
    assert {"create", "due", "remind", "escalate", "overdue"} <= set(offered)
    filtered = client.get("/projects/P-1?action=remind")
    assert filtered.status_code == 200 and '<option value="remind" selected>' in filtered.text
    refused = client.get("/projects/P-1?action=rejected")
    assert refused.status_code == 422 and "use one of:" in html.unescape(refused.text)


def test_the_board_says_who_can_resume_a_project_on_hold(client: TestClient, db_url: str) -> None:
    """A held project's "Waiting on" was empty though its status says who can resume it (issue 21,
    item 12)."""
    with Engine(db_url) as engine:
        engine.hold("P-1", reason="the client is re-scoping", actor="ana")
    board = client.get("/projects").text
    cell = board[board.index('data-label="Waiting on"'):]
    cell = cell[:cell.index("</td>")]
    assert "<li>ana: Producer to resume (on hold)</li>" in cell, cell


def test_a_verified_project_reads_as_one_chain_with_its_signature_in_words(client: TestClient, db_url: str) -> None:
    """"53 events in 1 chains", "all 1 chains", "(signature none)" (issue 21, LOW)."""
    with Engine(db_url) as engine:
        checkpoint = engine.checkpoint(reader="ana").to_json()
    page = client.get("/audit").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/audit/verify", data={"csrf": csrf, "project": "P-1"},
                         files={"checkpoint": ("cp.json", checkpoint.encode(), "application/json")})
    said = html.unescape(answer.text)
    start = said.index("Intact: ")
    said = said[start:said.index("</p>", start)]
    assert re.match(r"Intact: \d+ events in 1 chain;", said), said
    assert "1 chains" not in said and "signature none" not in said
    assert "the one chain of the checkpoint of" in said and "(not signed)" in said, said
