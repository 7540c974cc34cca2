"""The Settings page (issue 21, item 8): my e-mail choices, my calendar feed's link (shown once,
"New link" revokes the old), my tokens (their page kept), my password; every form answers with a
redirect back to the page, refusals included. Server-rendered HTML, no browser (the browser
tour looks at it: tests/server/web/test_web_pages.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from support.apiclients import api

from workflow import Engine
from workflow.domain.notify.asks import KINDS
from workflow.server.web.settings import KIND_WORDS

PASSWORD = "correct horse battery"
NEW = "a much longer passphrase"


@pytest.fixture
def ana(db_url: str) -> Iterator[tuple[TestClient, str]]:
    """ana (admin, with a password) signed in to the web app; her session's CSRF token."""
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.add_user("ana", actor="ana")
        engine.set_password("ana", PASSWORD, actor="ana")
    with api(db_url) as client:
        signed = client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD})
        assert signed.status_code == 200
        yield client, str(signed.json()["csrf"])


def test_settings_is_in_the_navigation_and_its_old_addresses_lead_there(ana: tuple[TestClient, str]) -> None:
    client, _csrf = ana
    home = client.get("/").text
    assert '<a href="/settings">Settings</a>' in home
    page = client.get("/settings")
    assert page.status_code == 200
    for heading in ("My calendar feed", "My e-mail", "My tokens", "Change my password"):
        assert f">{heading}</h2>" in page.text
    assert 'href="/me/tokens"' in page.text
    moved = client.get("/me/settings", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/settings"
    assert "Back to Settings" in client.get("/me/tokens").text  # the tokens page stays where it was


def test_my_email_choices_are_saved_and_said(ana: tuple[TestClient, str], db_url: str) -> None:
    client, csrf = ana
    page = client.get("/settings").text
    kinds = len(KINDS)
    assert page.count('type="checkbox"') == kinds and page.count(" checked") == kinds  # every kind, by default
    saved = client.post("/settings/email", data={"csrf": csrf, "kind-task": "yes", "kind-overdue": "yes"},
                        follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/settings"
    page = client.get("/settings").text
    assert 'role="status"' in page and "You get e-mails when a task becomes mine;" in page
    assert re.search(r'name="kind-task" value="yes" checked', page)
    assert not re.search(r'name="kind-sign" value="yes" checked', page)
    with Engine(db_url) as engine:
        assert engine.notifications(reader="ana").email_kinds == ["overdue", "task"]
    client.post("/settings/email", data={"csrf": csrf})
    with Engine(db_url) as engine:
        assert engine.notifications(reader="ana").email_kinds == []


def test_every_kind_of_notification_has_its_words_on_settings() -> None:
    assert set(KIND_WORDS) == set(KINDS)


def test_a_new_calendar_link_is_shown_once_and_the_old_one_stops_working(ana: tuple[TestClient, str]) -> None:
    client, csrf = ana
    links = []
    for _ in range(2):
        made = client.post("/settings/calendar-key", data={"csrf": csrf}, follow_redirects=False)
        assert made.status_code == 303 and made.headers["location"] == "/settings"
        page = client.get("/settings").text
        assert "the old link no longer works" in page
        found = re.search(r'<input id="calendar-link" class="secret" value="([^"]+)" readonly', page)
        assert found is not None
        assert 'data-copy="calendar-link"' in page  # the copy button (shown by static/copy.js)
        links.append(html.unescape(found.group(1)))
        assert "calendar-link" not in client.get("/settings").text  # shown once
    old, new = (link.removeprefix("http://testserver") for link in links)
    assert new.startswith("/api/v1/me/calendar.ics?key=")
    client.cookies.clear()  # as a calendar application, which cannot sign in
    assert client.get(new).status_code == 200
    assert client.get(old).status_code == 401


def test_my_password_is_changed_from_settings_and_a_refusal_comes_back_there(ana: tuple[TestClient, str]
                                                                            ) -> None:
    client, csrf = ana
    form = {"csrf": csrf, "from": "settings", "current": "not it", "password": NEW, "again": NEW}
    refused = client.post("/people/ana/password", data=form, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/settings"
    assert 'role="alert" tabindex="-1" autofocus' in client.get("/settings").text
    changed = client.post("/people/ana/password", data={**form, "current": PASSWORD}, follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == "/settings"
    assert "Your password is changed." in client.get("/settings").text


def test_my_delegations_are_shown_made_and_ended_on_the_page(ana: tuple[TestClient, str], db_url: str) -> None:
    """Issue 26: the Settings page lists the delegations I gave and received, with a form for a new one."""
    from datetime import UTC, datetime, timedelta

    client, csrf = ana
    today = datetime.now(UTC).date()
    until = (today + timedelta(days=6)).isoformat()
    assert ">My delegations</h2>" in client.get("/settings").text
    made = client.post("/settings/delegations", data={"csrf": csrf, "to": "dee", "from": today.isoformat(),
                                                      "until": until, "reason": "holiday"},
                       follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/settings#delegations"
    page = html.unescape(client.get("/settings").text)
    assert f"dee acts for you from {today.isoformat()} to {until}" in page
    (ident,) = re.findall(r'action="/settings/delegations/([^/"]+)/end"', page)
    with Engine(db_url) as engine:
        later = (today + timedelta(days=7)).isoformat()  # after hers: she is not away then
        engine.delegate("ben", "ana", later, later, actor="ben")
        assert [d.to for d in engine.delegations(reader="ana")] == ["dee", "ana"]
    page = client.get("/settings").text
    assert page.count("/end\"") == 2  # one given, one received
    self_made = client.post("/settings/delegations", data={"csrf": csrf, "to": "ana", "from": today.isoformat(),
                                                           "until": until}, follow_redirects=False)
    assert self_made.status_code == 303
    assert "cannot delegate to themselves" in html.unescape(client.get("/settings").text)
    ended = client.post(f"/settings/delegations/{ident}/end", data={"csrf": csrf}, follow_redirects=False)
    assert ended.status_code == 303
    assert f"Delegation {ident} ended." in client.get("/settings").text
