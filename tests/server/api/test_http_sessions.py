"""Web sessions over the API: the cookie, CSRF, fixation, sign-out, and slowing down password guessing.

``POST /api/v1/me/session`` signs in with a password: it sets the HttpOnly, SameSite=Lax cookie
``phasegate_session`` (a new server-side session every time) and answers the session's CSRF
token, which every unsafe request of that session must send as ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.apiclients import api, error_of, unchanged_dump

from workflow import Engine
from workflow.engine.people import signin
from workflow.server.auth import CSRF_HEADER, SESSION_COOKIE

pytestmark = pytest.mark.slow  # password sign-ins (argon2id, 64 MiB each) in every test: 1.8 s a test (measured 2026-12-07)

PASSWORD = "correct horse battery"
DONE = "/api/v1/projects/P-1/tasks/integrated_producer/done"


@pytest.fixture
def url(db_url: str) -> str:
    """ana (the lead of P-1) and eve, both with passwords; root is the admin."""
    with Engine(db_url) as engine:
        engine.init(admin="root")
        engine.add_user("root", actor="root")
        for person in ("ana", "eve"):
            engine.add_user(person, actor="root")
            engine.set_password(person, PASSWORD, actor="root")
        engine.create_project("P-1", template="team-based", actor="root")
        engine.assign("P-1", "integrated_producer", "ana", actor="root")
    return db_url


@pytest.fixture
def client(url: str) -> Iterator[TestClient]:
    with api(url) as client:
        yield client


def sign_in(client: TestClient, login: str = "ana", password: str = PASSWORD, **kwargs: Any) -> Any:
    """The sign-in's response; the client keeps no cookie (each request below names its own)."""
    response = client.post("/api/v1/me/session", json={"login": login, "password": password}, **kwargs)
    client.cookies.clear()
    return response


def set_cookie(response: Any, name: str) -> str:
    """The one Set-Cookie header of ``response`` that sets ``name`` (a sign-in also sets the
    browser's device cookie)."""
    (found,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return found


def session_of(response: Any) -> tuple[str, str]:
    """(the session id from Set-Cookie, the CSRF token from the body)."""
    cookie = SimpleCookie(set_cookie(response, SESSION_COOKIE))
    return cookie[SESSION_COOKIE].value, response.json()["csrf"]


def as_session(session_id: str, csrf: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    if csrf is not None:
        headers[CSRF_HEADER] = csrf
    return headers


def test_signing_in_sets_an_httponly_samesite_lax_cookie_for_the_whole_site(client: TestClient) -> None:
    response = sign_in(client)
    assert response.status_code == 200
    assert response.json()["person"] == "ana" and response.json()["auth"] == "password"
    session = set_cookie(response, SESSION_COOKIE)
    morsel = SimpleCookie(session)[SESSION_COOKIE]
    assert morsel["httponly"] is True, session
    assert morsel["samesite"].lower() == "lax", session
    assert morsel["path"] == "/", session
    assert int(morsel["max-age"]) == signin.SESSION_SECONDS
    assert not morsel["secure"], "Secure only when the server is told it is behind HTTPS"
    assert len(morsel.value) >= 32, "the session id is a long random secret"


def test_the_cookie_is_secure_when_the_server_says_so(url: str) -> None:
    with api(url, secure_cookies=True) as client:
        response = sign_in(client)
    assert SimpleCookie(set_cookie(response, SESSION_COOKIE))[SESSION_COOKIE]["secure"] is True
    device = [h for h in response.headers.get_list("set-cookie") if h.startswith(signin.DEVICE_COOKIE)]
    assert len(device) == 1 and "secure" in device[0].lower(), "the device cookie too"


def test_a_read_with_the_session_cookie_needs_no_csrf_token(client: TestClient) -> None:
    session_id, _csrf = session_of(sign_in(client))
    me = client.get("/api/v1/me", headers=as_session(session_id))
    assert me.status_code == 200
    assert (me.json()["person"], me.json()["auth"]) == ("ana", "password")


@pytest.mark.parametrize("csrf", [None, "", "not-the-token"], ids=["missing", "empty", "wrong"])
def test_an_unsafe_request_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, url: str, csrf: str | None
) -> None:
    session_id, _right = session_of(sign_in(client))
    with Engine(url) as engine:
        before = unchanged_dump(engine)
        refused = client.post(DONE, headers=as_session(session_id, csrf), json={"note": "n"})
        assert unchanged_dump(engine) == before
    assert refused.status_code == 403
    assert error_of(refused)["kind"] == "not_permitted" and CSRF_HEADER in error_of(refused)["message"]


def test_an_unsafe_request_with_the_sessions_csrf_token_is_done_as_the_person(client: TestClient) -> None:
    session_id, csrf = session_of(sign_in(client))
    done = client.post(DONE, headers=as_session(session_id, csrf), json={"note": "n"})
    assert done.status_code == 200
    assert (done.json()["actor"], done.json()["auth"]) == ("ana", "password")


def test_another_sessions_csrf_token_does_not_do(client: TestClient) -> None:
    mine, _csrf = session_of(sign_in(client))
    _theirs, their_csrf = session_of(sign_in(client, "eve"))
    assert client.post(DONE, headers=as_session(mine, their_csrf)).status_code == 403


def test_a_session_id_planted_before_signing_in_is_worthless_after(client: TestClient) -> None:
    """Session fixation: eve plants her own live session id in ana's browser; ana signs in."""
    planted, _csrf = session_of(sign_in(client, "eve"))
    response = sign_in(client, headers={"Cookie": f"{SESSION_COOKIE}={planted}"})
    ana_session, _ = session_of(response)
    assert ana_session != planted, "signing in always makes a new session"
    assert client.get("/api/v1/me", headers=as_session(planted)).json()["person"] == "eve", (
        "the planted id never becomes ana's"
    )
    assert client.get("/api/v1/me", headers=as_session(ana_session)).json()["person"] == "ana"


def test_a_made_up_session_id_is_refused(client: TestClient) -> None:
    response = sign_in(client, headers={"Cookie": f"{SESSION_COOKIE}=chosen-by-an-attacker"})
    assert session_of(response)[0] != "chosen-by-an-attacker"
    refused = client.get("/api/v1/me", headers=as_session("chosen-by-an-attacker"))
    assert refused.status_code == 401 and error_of(refused)["kind"] == "unauthenticated"


def test_every_sign_in_makes_a_new_session(client: TestClient) -> None:
    first, second = session_of(sign_in(client)), session_of(sign_in(client))
    assert first[0] != second[0] and first[1] != second[1]


def test_signing_out_ends_the_session_on_the_server(client: TestClient) -> None:
    session_id, csrf = session_of(sign_in(client))
    assert client.delete("/api/v1/me/session", headers=as_session(session_id)).status_code == 403, (
        "signing out is an unsafe request too: a CSRF token, or a page elsewhere could sign you out"
    )
    out = client.delete("/api/v1/me/session", headers=as_session(session_id, csrf))
    assert out.status_code == 204
    cleared = SimpleCookie(out.headers["set-cookie"])[SESSION_COOKIE]
    assert cleared.value in ("", '""') and int(cleared["max-age"]) == 0
    replayed = client.get("/api/v1/me", headers=as_session(session_id))
    assert replayed.status_code == 401, "the old cookie, replayed, is refused"
    assert client.post(DONE, headers=as_session(session_id, csrf)).status_code == 401


def test_a_disabled_accounts_session_is_refused_on_its_next_request(client: TestClient, url: str) -> None:
    session_id, _csrf = session_of(sign_in(client))
    assert client.get("/api/v1/me", headers=as_session(session_id)).status_code == 200
    with Engine(url) as engine:
        engine.disable_user("ana", actor="root")
    assert client.get("/api/v1/me", headers=as_session(session_id)).status_code == 401
    with Engine(url) as engine:
        engine.enable_user("ana", actor="root")
    assert client.get("/api/v1/me", headers=as_session(session_id)).status_code == 401, (
        "enabling the account again does not bring its old sessions back"
    )


def test_changing_ones_password_ends_ones_other_sessions_and_keeps_this_one(client: TestClient) -> None:
    here, csrf = session_of(sign_in(client))
    elsewhere, _ = session_of(sign_in(client))
    changed = client.patch(
        "/api/v1/people/ana", headers=as_session(here, csrf),
        json={"password": "a brand new password", "current_password": PASSWORD},
    )
    assert changed.status_code == 200
    assert client.get("/api/v1/me", headers=as_session(elsewhere)).status_code == 401
    assert client.get("/api/v1/me", headers=as_session(here)).status_code == 200
    assert sign_in(client).status_code == 401, "the old password no longer signs in"
    assert sign_in(client, password="a brand new password").status_code == 200


def test_an_admin_setting_a_persons_password_ends_all_their_sessions(client: TestClient, url: str) -> None:
    session_id, _csrf = session_of(sign_in(client))
    with Engine(url) as engine:
        engine.set_password("ana", "set by the admin", actor="root")
    assert client.get("/api/v1/me", headers=as_session(session_id)).status_code == 401


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(client: TestClient) -> None:
    wrong = sign_in(client, password="not her password")
    unknown = sign_in(client, login="nobody-here")
    malformed = sign_in(client, login="Not A Login Name!")
    assert wrong.status_code == unknown.status_code == malformed.status_code == 401
    assert wrong.json() == unknown.json() == malformed.json()
    assert error_of(wrong) == {"kind": "unauthenticated", "message": signin.REFUSED}
    assert "set-cookie" not in wrong.headers


def test_a_disabled_account_cannot_sign_in_and_is_told_as_little(client: TestClient, url: str) -> None:
    with Engine(url) as engine:
        engine.disable_user("ana", actor="root")
    refused = sign_in(client)
    assert refused.status_code == 401 and error_of(refused)["message"] == signin.REFUSED


def failures_then_throttled(url: str, attempts: list[tuple[str, str]], then: tuple[str, str]) -> Any:
    """Each (login, client address) of ``attempts`` fails; the answer to ``then``, with the right password."""
    for login, address in attempts:
        with api(url, client=(address, 50000)) as client:
            assert sign_in(client, login, "a wrong password").status_code == 401
    login, address = then
    with api(url, client=(address, 50000)) as client:
        return sign_in(client, login)


def test_failed_sign_ins_for_one_name_are_slowed_down_whatever_the_address(url: str) -> None:
    free = signin.FREE_FAILURES + 1  # the failures before the next attempt must wait
    attempts = [("ana", f"127.0.0.{10 + n}") for n in range(free)]
    throttled = failures_then_throttled(url, attempts, ("ana", "127.0.0.99"))
    assert throttled.status_code == 429, "even the right password waits"
    assert error_of(throttled)["kind"] == "throttled"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert "set-cookie" not in throttled.headers


def test_failed_sign_ins_from_one_address_are_slowed_down_whatever_the_name(url: str) -> None:
    free = signin.FREE_FAILURES + 1
    attempts = [(f"guess{n}", "127.0.0.7") for n in range(free)]
    throttled = failures_then_throttled(url, attempts, ("eve", "127.0.0.7"))
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1


def test_a_few_failed_sign_ins_are_not_slowed_down(url: str) -> None:
    attempts = [("ana", "127.0.0.5")] * signin.FREE_FAILURES
    assert failures_then_throttled(url, attempts, ("ana", "127.0.0.5")).status_code == 200


def test_an_unknown_name_is_slowed_down_exactly_like_a_real_one(url: str) -> None:
    free = signin.FREE_FAILURES + 1
    real = failures_then_throttled(url, [("ana", f"127.0.1.{n}") for n in range(free)], ("ana", "127.0.1.99"))
    made_up = failures_then_throttled(
        url, [("nobody-here", f"127.0.2.{n}") for n in range(free)], ("nobody-here", "127.0.2.99")
    )
    assert real.status_code == made_up.status_code == 429
    assert error_of(real)["kind"] == error_of(made_up)["kind"]
