"""Every form's answer is a redirect (POST, 303, GET), refusals and stale forms included: the address
bar never stays on a form's address, so Reload re-reads the page (no 405, no 404), and the refusal's
sentence is on the page the redirect leads to, once, from a cookie signed with the session."""

from __future__ import annotations

from typing import Any

import pytest
from support.apiclients import api

from workflow import Engine

PASSWORD = "correct horse battery"


def prepare(url: str) -> None:
    with Engine(url) as engine:
        engine.init(admin="root")
        engine.add_user("ana", actor="root")
        engine.set_password("ana", PASSWORD, actor="root")
        engine.create_project("P-1", template="team-based", actor="root")
        engine.assign("P-1", "integrated_producer", "ana", actor="root")


def signed_in(client: object) -> str:
    answer = client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD})  # type: ignore[attr-defined]
    return str(answer.json()["csrf"])


@pytest.mark.slow  # an app over a fresh database per backend: about 1 s
def test_a_refused_project_form_redirects_to_the_page_with_its_sentence_once(db_url: str) -> None:
    prepare(db_url)
    with api(db_url) as client:
        csrf = signed_in(client)
        refused = client.post("/projects/P-1/do", data={"csrf": csrf, "action": "advance", "seq": "1",
                                                         "request_id": "r-1"})
        assert refused.status_code == 303, refused.text[:300]
        assert refused.headers["location"] == "/projects/P-1"
        page = client.get("/projects/P-1")
        assert page.status_code == 200
        assert 'role="alert"' in page.text and "has moved on since it was read" in page.text
        again = client.get("/projects/P-1")  # Reload: the page as it is, the sentence said once
        assert again.status_code == 200 and 'role="alert"' not in again.text


@pytest.mark.slow
def test_a_forged_sentence_is_not_shown(db_url: str) -> None:
    prepare(db_url)
    with api(db_url) as client:
        signed_in(client)
        client.cookies.set("phasegate_flash", "eyJlcnJvciI6ICI8Yj5oaTwvYj4ifQ==.0000")
        page = client.get("/projects/P-1")
        assert page.status_code == 200 and 'role="alert"' not in page.text and "<b>hi" not in page.text


@pytest.mark.slow
@pytest.mark.parametrize("address", ["/projects/P-1/do", "/audit/verify", "/templates/check",
                                     "/templates/publish"])
def test_reload_of_a_form_address_leads_to_its_page(db_url: str, address: str) -> None:
    prepare(db_url)
    with api(db_url) as client:
        signed_in(client)
        answer = client.get(address)
        assert answer.status_code == 303, answer.text[:300]
        assert client.get(answer.headers["location"]).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize(("address", "fields", "page", "kept"), [
    ("/projects", {"code": "NEW-1", "template": "no-such-template", "name": "Kept name"}, "/projects",
     'value="Kept name"'),
    ("/people", {"login": "zed"}, "/people", None),
    ("/grants", {"person": "zed", "privilege": "admin"}, "/people", None),
    ("/audit/verify", {"project": "P-1", "checkpoint": ("cp.json", b"{}", "application/json")}, "/audit", None),
    ("/me/tokens/nope/revoke", {}, "/me/tokens", None),
    ("/projects", {"code": "NEW-2", "template": "team-based", "calendar": "not a calendar"}, "/projects",
     'value="not a calendar"'),
    ("/people/ana/password", {"from": "settings", "current": "not it", "password": "a long new passphrase",
                              "again": "a long new passphrase"}, "/settings", None),
], ids=["create", "add-person", "grant", "verify", "revoke", "create-calendar", "my-password"])
def test_a_refused_form_redirects_to_its_page_with_the_sentence(db_url: str, address: str, fields: dict[str, Any],
                                                               page: str, kept: str | None) -> None:
    prepare(db_url)
    with api(db_url) as client:
        csrf = signed_in(client)
        files = {k: v for k, v in fields.items() if isinstance(v, tuple)}
        data = {k: v for k, v in fields.items() if not isinstance(v, tuple)}
        refused = client.post(address, data={"csrf": csrf, **data}, files=files or None)
        assert refused.status_code == 303, refused.text[:300]
        assert refused.headers["location"] == page
        shown = client.get(page)
        assert 'role="alert"' in shown.text, shown.text[:2000]
        if kept:
            assert kept in shown.text  # the refused form filled in again


@pytest.mark.slow
def test_a_person_the_sso_proxy_names_sees_the_refusal_after_the_redirect(db_url: str) -> None:
    """No session cookie behind the proxy: the sentence still reaches the page the redirect leads to."""
    prepare(db_url)
    with api(db_url, client=("127.0.0.1", 50000)) as client:
        client.headers["X-Forwarded-User"] = "ana"
        refused = client.post("/projects/P-1/do", data={"action": "advance", "seq": "1", "request_id": "r-2"},
                              headers={"Origin": "http://testserver"})
        assert refused.status_code == 303, refused.text[:300]
        page = client.get(refused.headers["location"])
        assert 'role="alert"' in page.text and "has moved on since it was read" in page.text


@pytest.mark.slow
def test_a_verification_without_a_checkpoint_answers_with_a_redirect_to_its_result(db_url: str) -> None:
    """Verify is a redirect too (issue 21 item 3): the result is read at /audit?verify=…, so Reload
    verifies again rather than re-posting; a refusal is said on that page, a 4xx with its alert."""
    prepare(db_url)
    with Engine(db_url) as engine:
        engine.grant("ana", "auditor", actor="root")
    with api(db_url) as client:
        csrf = signed_in(client)
        answer = client.post("/audit/verify", data={"csrf": csrf, "project": "P-1"})
        assert answer.status_code == 303 and answer.headers["location"] == "/audit?verify=P-1"
        page = client.get(answer.headers["location"])
        assert page.status_code == 200 and "Intact: " in page.text and "P-1" in page.text
        every = client.post("/audit/verify", data={"csrf": csrf, "project": ""})
        assert every.headers["location"] == "/audit?verify=%2A"
        assert "Intact: " in client.get(every.headers["location"]).text
        unknown = client.get("/audit?verify=NOPE-9")
        assert 400 <= unknown.status_code < 500 and 'role="alert"' in unknown.text
