"""Accounts, the low items (issue 19, item 15): one proxy header, one e-mail address, only real
privileges offered, and a disabled account's credentials stay dead when it is enabled again."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.apiclients import PROXY_HEADER, api, bearer, error_of, unchanged_dump
from support.cli_runs import InProcessServer, cli_runner
from support.servers import people

from workflow import Engine
from workflow.domain.vocabulary import PRIVILEGES
from workflow.errors import UsageError

PASSWORD = "correct horse battery"


@pytest.fixture
def url(db_url: str) -> str:
    with Engine(db_url) as engine:
        people(engine, {"ana": ()})
        for person in ("root", "ana"):
            engine.set_password(person, PASSWORD, actor="root")
    return db_url


# -- the proxy's header ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_duplicated_proxy_header_from_the_trusted_proxy_is_refused_400(url: str) -> None:
    with Engine(url) as engine:
        before = unchanged_dump(engine)
        with api(url, client=("127.0.0.1", 50000)) as client:
            read = client.get("/api/v1/me", headers=[(PROXY_HEADER, "ana"), (PROXY_HEADER, "root")])
            write = client.post("/api/v1/people", headers=[(PROXY_HEADER, "root"), (PROXY_HEADER, "ana")],
                                json={"login": "eve"})
            page = client.get("/", headers=[(PROXY_HEADER, "ana"), (PROXY_HEADER, "ana"), ("accept", "text/html")])
            one = client.get("/api/v1/me", headers={PROXY_HEADER: "ana"})
        assert unchanged_dump(engine) == before
    assert read.status_code == write.status_code == page.status_code == 400
    assert error_of(read)["kind"] == "bad_input" and PROXY_HEADER in error_of(read)["message"]
    assert one.status_code == 200 and one.json()["person"] == "ana"


# -- one e-mail address a person --------------------------------------------------------------------

NOT_ONE_ADDRESS = [
    "a,victim@x.example",
    "ana@x.example, victim@y.example",
    "ana@x.example;victim@y.example",
    "ana@x.example\r\nBcc: victim@y.example",
    "ana@x.example\nvictim@y.example",
    "Ana <ana@x.example>",
    "ana@x.example <victim@y.example>",
    '"ana@x.example" <victim@y.example>',
    "victim@y.example (ana@x.example)",
    "ana@x.example@y.example",
    "ana",
    "@x.example",
    "ana@",
    "ana @x.example",
    "<ana@x.example>",
]


@pytest.mark.parametrize("email", NOT_ONE_ADDRESS)
def test_an_e_mail_that_is_not_one_plain_address_is_refused_by_the_engine(sqlite_url: str, email: str) -> None:
    with Engine(sqlite_url) as engine:
        engine.init(admin="root")
        with pytest.raises(UsageError, match=r"is not an e-mail address|control character"):
            engine.add_user("ben", actor="root", email=email)
        assert "ben" not in {p.login for p in engine.users()}


@pytest.mark.parametrize("email", ["ben@example.com", "ben.o'hara+work@mail.example.co.uk", "b@x.io"])
def test_a_plain_address_is_taken(sqlite_url: str, email: str) -> None:
    with Engine(sqlite_url) as engine:
        engine.init(admin="root")
        engine.add_user("ben", actor="root", email=email)
        assert [p.email for p in engine.users() if p.login == "ben"] == [email]


@pytest.mark.slow
def test_several_addresses_are_refused_on_every_transport(tmp_path: Path) -> None:
    """The CLI on the database and through a server, the API and the web app's form."""
    url = f"sqlite:///{tmp_path}/t.db"
    bad = "a,victim@x.example"
    direct = cli_runner(url)
    assert direct("init", "--admin", "root").exit_code == 0
    refused = direct("user", "add", "ben", "--email", bad, actor="root")
    assert refused.exit_code == 2 and "is not an e-mail address" in refused.stderr
    with InProcessServer(url) as server:
        remote = server.run("user", "add", "ben", "--email", bad, actor="root")
        assert remote.exit_code == 2 and "is not an e-mail address" in remote.stderr
        token = server.token("root")
    with api(url) as client:
        answer = client.post("/api/v1/people", headers=bearer(token or ""), json={"login": "ben", "email": bad})
        assert answer.status_code == 422 and "is not an e-mail address" in error_of(answer)["message"]
    with Engine(url) as engine:  # root's account was made for its token
        engine.set_password("root", PASSWORD, actor="root")
    with api(url) as client:
        csrf = client.post("/api/v1/me/session", json={"login": "root", "password": PASSWORD}).json()["csrf"]
        form = client.post("/people", data={"csrf": csrf, "login": "ben", "email": bad})
        assert form.status_code == 303  # the refusal is said on the page the redirect leads to
        page = client.get(form.headers["location"])
        assert 'role="alert"' in page.text and "is not an e-mail address" in page.text
    with Engine(url) as engine:
        assert "ben" not in {p.login for p in engine.users()}


# -- the grants form ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_grants_form_offers_only_privileges_that_exist(url: str) -> None:
    with api(url) as client:
        client.post("/api/v1/me/session", json={"login": "root", "password": PASSWORD})
        page = client.get("/people")
    assert page.status_code == 200
    select = re.search(r'<select id="g-privilege"[^>]*>(.*?)</select>', page.text, re.S)
    assert select is not None
    assert tuple(re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))) == PRIVILEGES


# -- disabling ends every credential, for good ------------------------------------------------------


@pytest.fixture
def client(url: str) -> Iterator[TestClient]:
    with api(url) as client:
        yield client


@pytest.mark.slow
def test_enabling_an_account_again_does_not_revive_its_tokens_or_sessions(client: TestClient, url: str) -> None:
    with Engine(url) as engine:
        _info, token = engine.create_token(actor="ana", name="laptop")
    signed_in = client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD})
    session_cookie = dict(client.cookies)
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with Engine(url) as engine:
        engine.disable_user("ana", actor="root")
        engine.enable_user("ana", actor="root")
        listed = engine.tokens(reader="ana")
        revoked = engine.search_events(reader="root", action="token.revoke")
        verified = engine.verify_audit(reader="root")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert all(t.revoked_at is not None for t in listed), "the tokens show as revoked, when it was disabled"
    client.cookies.update(session_cookie)
    assert client.get("/api/v1/me", headers={"X-CSRF-Token": signed_in.json()["csrf"]}).status_code == 401
    assert verified.ok and verified.state_checked, "the revocations are on the record, as events"
    assert len(revoked) == 2 and {(e.actor, e.data["person"]) for e in revoked} == {("root", "ana")}
    with Engine(url) as engine:
        _info, fresh = engine.create_token(actor="ana")
    assert client.get("/api/v1/me", headers=bearer(fresh)).status_code == 200, "a new token works"


def test_disabling_through_a_server_answers_the_disable_not_a_revocation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    with InProcessServer(url) as server:
        assert server.run("init", "--admin", "root").exit_code == 0
        server.token("ben")  # ben's account, and a token to revoke
        disabled = server.run("--json", "user", "disable", "ben", actor="root")
        assert disabled.exit_code == 0, disabled.output
        assert json.loads(disabled.stdout)["action"] == "user.disable"
