"""The board's Phase filter is a choice of the phases that exist, and the navigation shows each person
the pages they may use (issue 21, item 11)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from starlette.testclient import TestClient
from support.apiclients import api
from support.browser import Site

from workflow import Engine

PASSWORD = "correct horse battery"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """ana (admin) signed in; a team-based project in its first phase."""
    url = f"sqlite:///{tmp_path}/b.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.add_user("ana", actor="ana")
        engine.set_password("ana", PASSWORD, actor="ana")
        engine.create_project("T-1", template="team-based", actor="ana")
    with api(url) as c:
        assert c.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD}).status_code == 200
        yield c


def phase_select(page: str) -> str:
    start = page.index('<select id="f-phase"')
    return page[start:page.index("</select>", start)]


def test_the_phase_filter_offers_the_chosen_templates_phases_by_title(client: TestClient) -> None:
    chosen = phase_select(client.get("/projects?template=team-based").text)
    assert "<optgroup" not in chosen
    options = [(k, html.unescape(t)) for k, t in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', chosen)]
    assert options[:3] == [("", "any"), ("client_kickoff", "Client Kick-Off"),
                           ("production_kickoff", "Production Kick-Off")]
    assert ("execution", "Partners & Execution") in options
    every = phase_select(client.get("/projects").text)
    groups = re.findall(r'<optgroup label="([^"]+)">', every)
    assert "Integrated Project Management - Team Based" in groups and len(groups) == 3, groups
    filtered = client.get(f"/projects?template=team-based&phase={options[1][0]}")
    assert filtered.status_code == 200 and f'<option value="{options[1][0]}" selected>' in filtered.text


def test_an_unknown_phase_is_refused_with_the_choices_not_no_projects(client: TestClient) -> None:
    refused = client.get("/projects?phase=Execution")
    text = html.unescape(refused.text)
    assert refused.status_code == 422, refused.status_code
    assert 'role="alert"' in text and "unknown phase 'Execution'; use one of:" in text
    assert "No project matches" not in text


@pytest.mark.slow
def test_the_navigation_shows_audit_and_people_only_to_who_may_use_them(site: Site) -> None:
    expected = {"ben": ["My work", "Projects", "Insights", "Templates", "Settings"],
                "dee": ["My work", "Projects", "Insights", "Templates", "Audit", "Settings"],
                "root": ["My work", "Projects", "Insights", "Templates", "Audit", "People", "Settings"]}
    for login, links in expected.items():
        page = site.open(login, javascript=False)
        nav = page.get_by_role("navigation", name="Main")
        for name in ("Templates", "Audit", "People"):
            expect(nav.get_by_role("link", name=name, exact=True)).to_have_count(1 if name in links else 0)
        shown = [n for n in nav.get_by_role("link").all_inner_texts()]
        assert [n for n in shown if n in {"My work", "Projects", "Insights", "Templates", "Audit", "People",
                                          "Settings"}] \
            == links, (login, shown)
    # the pages themselves still refuse who may not use them, whatever the navigation shows
    ben = site.open("ben", javascript=False)
    assert ben.goto("/people").status == 403
    assert ben.goto("/audit?action=create").status == 403
