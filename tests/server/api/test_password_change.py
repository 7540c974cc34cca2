"""Changing one's own password needs the current one; a refused change changes nothing (issue 19, item 11).

A person changing their own password through the server gives the current one (an admin too,
for their own); an admin resetting someone else's does not. ``PATCH /people/{login}`` is one
request: everything in it is checked before anything is written. In direct-database mode
(``--db``, ``auth: asserted``) nothing more is asked: whoever can write the database can write
any password's hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.apiclients import api, bearer, error_of, unchanged_dump
from support.cli_runs import InProcessServer, cli_runner

from workflow import Engine

pytestmark = pytest.mark.slow  # password checks (argon2id, 64 MiB each) in every test: 1.5 s a test (measured 2026-12-07)

OLD = "correct horse battery"
NEW = "a brand new password"


@pytest.fixture
def url(db_url: str) -> str:
    """ana (no grant) and root (the admin), both with passwords."""
    with Engine(db_url) as engine:
        engine.init(admin="root")
        for person in ("root", "ana"):
            engine.add_user(person, actor="root")
            engine.set_password(person, OLD, actor="root")
    return db_url


@pytest.fixture
def tokens(url: str) -> dict[str, str]:
    with Engine(url) as engine:
        return {person: engine.create_token(actor=person)[1] for person in ("root", "ana")}


@pytest.fixture
def client(url: str) -> Iterator[TestClient]:
    with api(url) as client:
        yield client


def signs_in(client: TestClient, login: str, password: str) -> bool:
    answer = client.post("/api/v1/me/session", json={"login": login, "password": password})
    client.cookies.clear()
    return bool(answer.status_code == 200)


def patch(client: TestClient, login: str, token: str, **body: Any) -> Any:
    return client.patch(f"/api/v1/people/{login}", headers=bearer(token), json=body)


def test_changing_ones_own_password_without_the_current_one_is_refused(
    client: TestClient, tokens: dict[str, str], url: str
) -> None:
    with Engine(url) as engine:
        before = unchanged_dump(engine)
        refused = patch(client, "ana", tokens["ana"], password=NEW)
        assert unchanged_dump(engine) == before
    assert refused.status_code == 422 and "current password" in error_of(refused)["message"]
    assert signs_in(client, "ana", OLD) and not signs_in(client, "ana", NEW)


def test_a_wrong_current_password_is_refused_and_changes_nothing(client: TestClient, tokens: dict[str, str]) -> None:
    refused = patch(client, "ana", tokens["ana"], password=NEW, current_password="not my password")
    assert refused.status_code == 403 and error_of(refused)["kind"] == "not_permitted"
    assert signs_in(client, "ana", OLD) and not signs_in(client, "ana", NEW)


def test_the_right_current_password_changes_it(client: TestClient, tokens: dict[str, str]) -> None:
    changed = patch(client, "ana", tokens["ana"], password=NEW, current_password=OLD)
    assert changed.status_code == 200 and [e["action"] for e in changed.json()] == ["user.password"]
    assert signs_in(client, "ana", NEW) and not signs_in(client, "ana", OLD)


def test_guessing_the_current_password_is_slowed_down(client: TestClient, tokens: dict[str, str]) -> None:
    """A stolen token or session cannot guess the password behind it at argon2's full speed."""
    answers = [patch(client, "ana", tokens["ana"], password=NEW, current_password=f"guess {n}").status_code
               for n in range(8)]
    assert 429 in answers and answers[0] == 403


@pytest.mark.parametrize("current", [None, OLD])
def test_a_password_with_active_by_someone_not_admin_is_refused_whole(
    client: TestClient, tokens: dict[str, str], url: str, current: str | None
) -> None:
    """The red team's request: ``{"password": ..., "active": true}`` on oneself, without the admin grant."""
    body: dict[str, Any] = {"password": NEW, "active": True}
    if current is not None:
        body["current_password"] = current
    with Engine(url) as engine:
        before = unchanged_dump(engine)
        refused = patch(client, "ana", tokens["ana"], **body)
        assert unchanged_dump(engine) == before, "nothing of a refused request is written"
    assert refused.status_code == 403
    assert signs_in(client, "ana", OLD) and not signs_in(client, "ana", NEW)


def test_an_admin_resets_someone_elses_password_without_knowing_it(
    client: TestClient, tokens: dict[str, str]
) -> None:
    assert patch(client, "ana", tokens["root"], password=NEW).status_code == 200
    assert signs_in(client, "ana", NEW)


def test_an_admin_changing_their_own_password_gives_theirs(client: TestClient, tokens: dict[str, str]) -> None:
    assert patch(client, "root", tokens["root"], password=NEW).status_code == 422
    assert patch(client, "root", tokens["root"], password=NEW, current_password=OLD).status_code == 200
    assert signs_in(client, "root", NEW)


def test_an_admin_disabling_and_setting_a_password_where_one_part_is_refused_writes_neither(
    client: TestClient, tokens: dict[str, str], url: str
) -> None:
    """root is the last active admin: disabling root is refused, so root's new password is not set either."""
    with Engine(url) as engine:
        before = unchanged_dump(engine)
        refused = patch(client, "root", tokens["root"], password=NEW, current_password=OLD, active=False)
        assert unchanged_dump(engine) == before
    assert refused.status_code == 409
    assert signs_in(client, "root", OLD)


def web_session(client: TestClient, login: str) -> str:
    """Signs ``client`` in (it keeps the session cookie); the session's CSRF token."""
    signed_in = client.post("/api/v1/me/session", json={"login": login, "password": OLD})
    assert signed_in.status_code == 200
    return str(signed_in.json()["csrf"])


@pytest.mark.parametrize("extra", [{}, {"from": "tokens"}, {"from": "settings"}, {"current": ""}],
                         ids=["no-from", "tokens", "settings", "empty"])
def test_the_web_form_without_the_current_password_changes_nothing(
    url: str, extra: dict[str, str]
) -> None:
    """The red team's form: the same POST as the Settings page's, without its current-password field."""
    with api(url) as client:
        csrf = web_session(client, "ana")
        client.post("/people/ana/password", data={"csrf": csrf, "password": NEW, "again": NEW, **extra})
        client.cookies.clear()
        assert signs_in(client, "ana", OLD) and not signs_in(client, "ana", NEW)


def test_the_web_form_with_the_current_password_changes_it(url: str) -> None:
    with api(url) as client:
        csrf = web_session(client, "ana")
        changed = client.post("/people/ana/password", data={
            "csrf": csrf, "from": "settings", "current": OLD, "password": NEW, "again": NEW})
        assert changed.status_code == 303 and changed.headers["location"] == "/settings"  # POST, redirect, GET
        shown = client.get("/settings")
        assert shown.status_code == 200 and "Your password is changed." in shown.text
        client.cookies.clear()
        assert signs_in(client, "ana", NEW)


def test_the_cli_through_a_server_asks_for_ones_current_password(tmp_path: Path) -> None:
    """``user password`` for oneself over ``--server``: the first line of stdin is the current
    password, the second the new one; for someone else, an admin gives only the new one."""
    url = f"sqlite:///{tmp_path}/t.db"
    with Engine(url) as engine:
        engine.init(admin="root")
        for person in ("root", "ana"):
            engine.add_user(person, actor="root")
            engine.set_password(person, OLD, actor="root")
    with InProcessServer(url) as server:
        wrong = server.run("user", "password", "ana", "--password-stdin", actor="ana",
                           input=f"not my password\n{NEW}\n")
        assert wrong.exit_code == 4 and "current password" in wrong.stderr
        missing = server.run("user", "password", "ana", "--password-stdin", actor="ana", input=f"{NEW}\n")
        assert missing.exit_code != 0
        changed = server.run("user", "password", "ana", "--password-stdin", actor="ana", input=f"{OLD}\n{NEW}\n")
        assert changed.exit_code == 0, changed.output
        reset = server.run("user", "password", "ana", "--password-stdin", actor="root", input=f"{OLD}\n")
        assert reset.exit_code == 0, reset.output
        prompted = server.run("user", "password", "ana", actor="ana", input=f"{OLD}\n{NEW}\n{NEW}\n")
        assert prompted.exit_code == 0 and "Current password" in prompted.output


def test_the_cli_on_the_database_sets_ones_own_password_as_asserted(tmp_path: Path) -> None:
    """Direct-database mode: whoever can write the database can write any password's hash, so
    nothing more is asked (the help says so)."""
    url = f"sqlite:///{tmp_path}/t.db"
    run = cli_runner(url)
    assert run("init", "--admin", "root").exit_code == 0
    assert run("user", "add", "ana", actor="root").exit_code == 0
    assert run("user", "password", "ana", "--password-stdin", actor="root", input=f"{OLD}\n").exit_code == 0
    assert run("user", "password", "ana", "--password-stdin", actor="ana", input=f"{NEW}\n").exit_code == 0
    assert "whoever can write the database" in " ".join(run("user", "password", "--help").output.split())
