"""The project commands' lean path (workflow/server/lean.py): a bearer token's command is served
without FastAPI's routing, and answers exactly as the FastAPI route does (which still serves a web
session's): the event, every refusal's status and error body, the headers, the metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.apiclients import api, app_for, bearer, error_of
from support.servers import people

from workflow import Engine
from workflow.errors import INTERNAL
from workflow.server.api import projects
from workflow.server.app import SECURITY_HEADERS

pytestmark = pytest.mark.slow  # a fresh app and database per test, on both backends

PASSWORD = "correct horse battery"
HOLD = "/api/v1/projects/P-1/hold"


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


@pytest.fixture
def lean_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The FastAPI route's answer fails: what still answers 200 came through the lean path."""

    def route_was_used(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the FastAPI route answered a bearer token's command")

    monkeypatch.setattr(projects, "event_response", route_was_used)
    monkeypatch.setattr(projects, "warned", route_was_used)


def session(client: TestClient) -> dict[str, str]:
    """Sign root in on ``client`` (the cookie stays on it); the CSRF header its writes need."""
    signed = client.post("/api/v1/me/session", json={"login": "root", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return {"X-CSRF-Token": signed.json()["csrf"]}


def test_a_bearer_tokens_command_is_served_by_the_lean_path(client: TestClient, tokens: dict[str, str],
                                                            lean_only: None) -> None:
    done = client.post(HOLD, json={"reason": "waiting on the client"}, headers=bearer(tokens["ana"]))
    assert done.status_code == 200, done.text
    event = done.json()
    assert (event["action"], event["actor"], event["auth"], event["project"]) == ("hold", "ana", "token", "P-1")
    assert event["data"]["reason"] == "waiting on the client"
    assert done.headers["content-type"] == "application/json"
    for name, value in SECURITY_HEADERS.items():
        assert done.headers[name] == value
    assert done.headers["cache-control"] == "no-store"


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(client: TestClient,
                                                                    tokens: dict[str, str]) -> None:
    headers = {**bearer(tokens["ana"]), "Idempotency-Key": "k-1"}
    first = client.post(HOLD, json={"reason": "r"}, headers=headers)
    again = client.post(HOLD, json={"reason": "r"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()


def test_if_match_of_an_earlier_event_is_refused_412(client: TestClient, tokens: dict[str, str]) -> None:
    seq = client.get("/api/v1/projects/P-1", headers=bearer(tokens["ana"])).headers["etag"]
    client.post(HOLD, json={"reason": "r"}, headers=bearer(tokens["ana"]))
    stale = client.post("/api/v1/projects/P-1/resume", headers={**bearer(tokens["ana"]), "If-Match": seq})
    assert stale.status_code == 412
    assert error_of(stale)["kind"] == "precondition_failed"


# (headers, body as content=) -> the same refusal from the lean path and from the FastAPI route
REFUSALS = {
    "not JSON": ({}, b"{not json"),
    "a field past its limit": ({}, b'{"reason": "' + b"x" * 5000 + b'"}'),
    "a field of the wrong type": ({}, b'{"reason": 12}'),
    "no body where one is required": ({}, b""),
    "a body that is not an object": ({}, b"[1, 2]"),
    "a form where JSON is wanted": ({"Content-Type": "application/x-www-form-urlencoded"}, b"reason=r"),
    "an Idempotency-Key past 128 characters": ({"Idempotency-Key": "k" * 129}, b'{"reason": "r"}'),
    "an If-Match that is not an ETag": ({"If-Match": "nope"}, b'{"reason": "r"}'),
    "a project that does not exist": ({}, b'{"reason": "r"}'),
    # JSON that orjson refuses and Python's json fails on with other than a decode error
    "an integer of over 4,300 digits": ({}, b'{"reason": ' + b"1" * 5000 + b"}"),
    "nesting deeper than the stack": ({}, b"[" * 3000 + b"NaN" + b"]" * 3000),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_the_lean_path_refuses_as_the_route_does(client: TestClient, tokens: dict[str, str], case: str,
                                                 lean_only: None) -> None:
    headers, body = REFUSALS[case]
    path = "/api/v1/projects/NOPE/hold" if "not exist" in case else HOLD
    headers = {"Content-Type": "application/json", **headers}
    lean = client.post(path, content=body, headers={**bearer(tokens["root"]), **headers})
    routed = client.post(path, content=body, headers={**session(client), **headers})
    client.cookies.clear()
    assert 400 <= lean.status_code < 500
    assert (lean.status_code, error_of(lean)) == (routed.status_code, error_of(routed))
    for name, value in SECURITY_HEADERS.items():
        assert lean.headers[name] == value


def test_a_bad_token_is_refused_401_before_the_fields_are_judged(client: TestClient) -> None:
    for authorization in ("Bearer pg_nope", "Basic cm9vdDpyb290"):
        refused = client.post(HOLD, json={"reason": 12}, headers={"Authorization": authorization})
        assert refused.status_code == 401, refused.text
        assert error_of(refused)["kind"] == "unauthenticated"
        assert refused.headers["www-authenticate"] == 'Bearer realm="phasegate"'


def test_a_body_past_the_request_limit_is_refused_413(client: TestClient, tokens: dict[str, str]) -> None:
    refused = client.post(HOLD, content=b'{"reason": "' + b"x" * 2_000_000 + b'"}',
                          headers={**bearer(tokens["ana"]), "Content-Type": "application/json"})
    assert refused.status_code == 413
    assert error_of(refused)["kind"] == "too_large"


def test_the_metrics_count_the_lean_paths_commands(client: TestClient, tokens: dict[str, str]) -> None:
    client.post(HOLD, json={"reason": "r"}, headers=bearer(tokens["ana"]))
    client.post(HOLD, json={"reason": "r"}, headers=bearer(tokens["ana"]))  # on hold already: refused
    text = client.get("/metrics", headers=bearer(tokens["root"])).text
    assert 'phasegate_commands_total{action="hold",outcome="ok"} 1.0' in text
    assert 'phasegate_commands_total{action="hold",outcome="refused"} 1.0' in text
    assert 'route="/api/v1/projects/{code}/hold",status="200"' in text


def test_a_staffing_change_answers_with_the_same_warnings_as_the_route(client: TestClient,
                                                                      tokens: dict[str, str]) -> None:
    path = "/api/v1/projects/P-1/team/team/root"
    lean = client.put(path, headers=bearer(tokens["root"]))
    assert lean.status_code == 200, lean.text
    assert isinstance(lean.json()["warnings"], list)
    routed = client.delete(path, headers=session(client))  # the route: a web session's request
    client.cookies.clear()
    again = client.put(path, headers=bearer(tokens["root"]))
    assert routed.status_code == again.status_code == 200
    assert again.json()["warnings"] == lean.json()["warnings"]
    assert set(again.json()) == set(routed.json())  # the same fields, warnings among them


def test_a_bearer_tokens_command_is_answered_before_fastapi_and_its_middleware(
        client: TestClient, tokens: dict[str, str], lean_only: None) -> None:
    """The lean path serves first and does the middleware's work itself: nothing of FastAPI's stack
    (its middleware, phasegate's, the router) takes part, and the answer is still headed and counted."""
    assert client.get("/healthz").status_code == 200  # FastAPI's stack is built

    async def stack(*_args: Any) -> None:
        raise AssertionError("FastAPI's middleware stack served a bearer token's command")

    app = client.app
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(app, "middleware_stack", stack)  # type: ignore[attr-defined]
    try:
        done = client.post(HOLD, json={"reason": "r"}, headers=bearer(tokens["ana"]))
        refused = client.post(HOLD, content=b"x" * 2_000_000, headers=bearer(tokens["ana"]))
    finally:
        monkeypatch.undo()
    assert done.status_code == 200, done.text
    assert (refused.status_code, error_of(refused)["kind"]) == (413, "too_large")
    for answer in (done, refused):
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value
        assert answer.headers["cache-control"] == "no-store"
    assert refused.headers["connection"] == "close"
    text = client.get("/metrics", headers=bearer(tokens["root"])).text
    assert 'phasegate_commands_total{action="hold",outcome="ok"} 1.0' in text
    assert 'phasegate_commands_total{action="hold",outcome="refused"} 1.0' in text


def test_a_body_streamed_past_the_limit_is_refused_413_by_the_lean_path(
        client: TestClient, tokens: dict[str, str], lean_only: None) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes are counted as they come
        yield b'{"reason": "'
        for _ in range(40):
            yield b"x" * 65_536
        yield b'"}'

    refused = client.post(HOLD, content=chunks(), headers={**bearer(tokens["ana"]),
                                                           "Content-Type": "application/json"})
    assert (refused.status_code, error_of(refused)["kind"]) == (413, "too_large")
    assert refused.headers["connection"] == "close"


def test_a_bug_in_a_command_is_answered_500_with_the_error_body_headed_and_counted(
        db_url: str, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Engine, "hold", bug)
    app = app_for(db_url)
    with TestClient(app, raise_server_exceptions=False) as failing:
        answer = failing.post(HOLD, json={"reason": "r"}, headers=bearer(tokens["ana"]))
        text = failing.get("/metrics", headers=bearer(tokens["root"])).text
    assert answer.status_code == 500
    assert error_of(answer)["kind"] == INTERNAL
    assert "a bug" not in answer.text
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value
    assert answer.headers["cache-control"] == "no-store"
    assert 'phasegate_commands_total{action="hold",outcome="error"} 1.0' in text


def test_a_bug_in_answering_a_refusal_is_still_a_500_with_the_error_body_and_headers(
        db_url: str, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """As ServerErrorMiddleware answers the route's: the lean path's own refusals are inside its guard."""
    from workflow.server import errors

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in an error handler")

    monkeypatch.setattr(errors, "phasegate_error", broken)
    with TestClient(app_for(db_url), raise_server_exceptions=False) as failing:
        answer = failing.post("/api/v1/projects/NOPE/hold", json={"reason": "r"}, headers=bearer(tokens["ana"]))
    assert answer.status_code == 500
    assert error_of(answer)["kind"] == INTERNAL
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value
