"""The single-sign-on proxy's header: the login name, but only from a ``--trusted-proxy`` address.

In process, the client address is set on the transport: ``127.0.0.1`` is the trusted proxy,
``testclient`` (TestClient's default) and ``127.0.0.2`` are not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.apiclients import PROXY_HEADER, api, bearer, error_of, unchanged_dump
from support.servers import people

from workflow import Engine

TRUSTED = ("127.0.0.1", 50000)


@pytest.fixture
def url(sqlite_url: str) -> Iterator[str]:
    with Engine(sqlite_url) as engine:
        people(engine, {"ana": (), "dis": ()})
        engine.disable_user("dis", actor="root")
        engine.create_project("P-1", template="team-based", actor="root")
        engine.assign("P-1", "integrated_producer", "ana", actor="root")
    yield sqlite_url


@pytest.mark.slow
def test_the_header_from_the_trusted_proxy_is_who_acts_and_is_recorded_as_proxy(url: str) -> None:
    with api(url, client=TRUSTED) as client:
        me = client.get("/api/v1/me", headers={PROXY_HEADER: "ana"})
        done = client.post("/api/v1/projects/P-1/tasks/integrated_producer/done", headers={PROXY_HEADER: "ana"})
    assert me.status_code == 200 and (me.json()["person"], me.json()["auth"]) == ("ana", "proxy")
    assert done.status_code == 200 and (done.json()["actor"], done.json()["auth"]) == ("ana", "proxy")


@pytest.mark.parametrize("address", ["testclient", "127.0.0.2"])
@pytest.mark.slow
def test_the_header_from_any_other_address_is_ignored(url: str, address: str) -> None:
    with Engine(url) as engine:
        before = unchanged_dump(engine)
        with api(url, client=(address, 50000)) as client:
            refused = client.post(
                "/api/v1/projects/P-1/tasks/integrated_producer/done", headers={PROXY_HEADER: "ana"}
            )
        assert unchanged_dump(engine) == before
    assert refused.status_code == 401 and error_of(refused)["kind"] == "unauthenticated"


def test_no_proxy_header_configured_means_the_header_means_nothing_even_from_loopback(url: str) -> None:
    with api(url, client=TRUSTED, proxy_header=None, trusted_proxies=()) as client:
        assert client.get("/api/v1/me", headers={PROXY_HEADER: "root"}).status_code == 401


@pytest.mark.parametrize(
    ("login", "why"), [("nobody", "has no account"), ("dis", "is disabled"), ("Not A Name!", "is no login")]
)
def test_the_trusted_proxy_cannot_vouch_for_someone_without_an_active_account(
    url: str, login: str, why: str
) -> None:
    with api(url, client=TRUSTED) as client:
        refused = client.get("/api/v1/me", headers={PROXY_HEADER: login})
    assert refused.status_code == 401, why


def test_a_bearer_token_outranks_the_proxys_header(url: str) -> None:
    with Engine(url) as engine:
        _info, ana = engine.create_token(actor="ana")
    with api(url, client=TRUSTED) as client:
        me = client.get("/api/v1/me", headers={PROXY_HEADER: "root", **bearer(ana)})
    assert (me.json()["person"], me.json()["auth"]) == ("ana", "token")
