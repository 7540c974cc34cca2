"""What should be refused is refused 4xx with the error body, never a 500 or a database's 503: numbers that
are not ASCII or pass 64 bits, a file sent as text, a NUL character (which PostgreSQL cannot store);
and the 500 of a failure nobody foresaw carries the headers every other answer has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.apiclients import api, app_for, bearer, error_of
from support.servers import people

from workflow import Engine
from workflow.server.app import SECURITY_HEADERS

pytestmark = pytest.mark.slow  # a fresh app and database per test, refusals on both backends: 1.8 s a test (measured 2026-12-07)

PASSWORD = "correct horse battery"
HUGE = str(2**63)


@pytest.fixture
def tokens(db_url: str) -> dict[str, str]:
    """root (admin, a password), ana (lead of P-1); the tokens by person."""
    with Engine(db_url) as engine:
        tokens = people(engine, {"ana": ()})
        engine.set_password("root", PASSWORD, actor="root")
        engine.create_project("P-1", template="team-based", actor="root")
        engine.assign("P-1", "integrated_producer", "ana", actor="root")
    return tokens


@pytest.fixture
def client(db_url: str, tokens: dict[str, str]) -> Iterator[TestClient]:
    with api(db_url) as client:
        yield client


def web_session(client: TestClient) -> str:
    """Sign root in on ``client`` (the cookie stays on it); the session's CSRF token."""
    signed = client.post("/api/v1/me/session", json={"login": "root", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return str(signed.json()["csrf"])


def refused_4xx(response: Any, *, page: bool = False) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if not page:
        error_of(response)


# Header bytes are read as Latin-1: "²" and "³" arrive as themselves, and str.isdigit() takes them.
@pytest.mark.parametrize("if_match", ['"²"', '"1³"', '²', f'"{HUGE}"', f'"{"9" * 38}"'])
def test_an_if_match_that_is_not_an_event_number_is_refused_422(client: TestClient, tokens: dict[str, str],
                                                                 if_match: str) -> None:
    refused = client.put("/api/v1/projects/P-1/team/team/ana",
                         headers={**bearer(tokens["root"]), "If-Match": if_match.encode("latin-1")})
    refused_4xx(refused)
    assert refused.status_code == 422


@pytest.mark.parametrize("path", [
    f"/projects/P-1?after={HUGE}",
    f"/projects/P-1/live?seq={HUGE}",
    f"/projects/P-1?after={'9' * 40}",
    f"/templates/team-based?version={HUGE}",
])
def test_a_page_number_past_64_bits_is_refused_4xx(client: TestClient, path: str) -> None:
    web_session(client)
    refused_4xx(client.get(path, headers={"Accept": "text/html"}), page=True)


@pytest.mark.parametrize("path", [
    f"/api/v1/projects/P-1/history?after_seq={HUGE}",
    f"/api/v1/projects?limit={HUGE}",
    f"/api/v1/templates/team-based?version={HUGE}",
    f"/api/v1/templates/team-based/diagram?version={HUGE}",
    f"/api/v1/notifications?limit={HUGE}",
])
def test_an_api_number_past_64_bits_is_refused_4xx(client: TestClient, tokens: dict[str, str], path: str) -> None:
    refused_4xx(client.get(path, headers=bearer(tokens["root"])))


@pytest.mark.parametrize(("path", "field"), [("/templates/check", "file"), ("/templates/publish", "file"),
                                             ("/audit/verify", "checkpoint")])
def test_a_file_sent_as_text_is_refused_4xx(client: TestClient, path: str, field: str) -> None:
    csrf = web_session(client)
    # A multipart form whose file field is a plain text part (no filename), as curl -F name=<file sends it.
    refused = client.post(path, data={"csrf": csrf, field: "key: x\n"}, files={"other": ("x", b"", "text/plain")},
                          headers={"Accept": "text/html"})
    urlencoded = client.post(path, data={"csrf": csrf, field: "key: x\n"}, headers={"Accept": "text/html"})
    if path == "/audit/verify":
        # the multipart body is refused before the form is read (a 4xx page); the urlencoded form is a
        # refused verification, which redirects to the audit page, and that page says why, once
        refused_4xx(refused, page=True)
        assert urlencoded.status_code == 303, (urlencoded.status_code, urlencoded.text[:300])
        page = client.get(urlencoded.headers["location"], headers={"Accept": "text/html"})
        assert page.status_code == 200 and 'role="alert"' in page.text and "as text" in page.text
        return
    refused_4xx(refused, page=True)
    refused_4xx(urlencoded, page=True)
    assert "as text" in urlencoded.text


def test_a_nul_in_a_sign_in_login_is_refused_4xx(client: TestClient) -> None:
    refused_4xx(client.post("/api/v1/me/session", json={"login": "ro\x00ot", "password": PASSWORD}))
    page = client.post("/signin", data={"login": "ro\x00ot", "password": PASSWORD}, headers={"Accept": "text/html"})
    refused_4xx(page, page=True)


@pytest.mark.parametrize("path", [
    "/api/v1/projects/P-1/history?actor=a%00b",
    "/api/v1/templates/a%00b",
    "/api/v1/templates/a%00b/diagram",
    "/api/v1/projects/P%001",
    "/api/v1/audit/verify?project=P%001",
])
def test_a_nul_in_a_filter_or_a_key_is_refused_4xx(client: TestClient, tokens: dict[str, str], path: str) -> None:
    refused_4xx(client.get(path, headers=bearer(tokens["root"])))


@pytest.mark.parametrize("path", ["/projects/P-1?actor=a%00b", "/templates/a%00b", "/audit?actor=a%00b",
                                  "/projects/P%001"])
def test_a_nul_in_a_page_filter_or_key_is_refused_4xx(client: TestClient, path: str) -> None:
    web_session(client)
    refused_4xx(client.get(path, headers={"Accept": "text/html"}), page=True)


def test_an_unforeseen_failure_is_answered_500_with_the_error_body_and_every_security_header(db_url: str) -> None:
    app = app_for(db_url)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as failing:
        answer = failing.get("/api/v1/boom")
    assert answer.status_code == 500
    assert error_of(answer)["kind"] == "internal"
    assert "a bug" not in answer.text
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, name
    assert answer.headers["cache-control"] == "no-store"
