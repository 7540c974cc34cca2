"""A few rows of the authorization matrix against a real ``phasegate serve`` process, on both backends.

The in-process matrix (``test_http_authorization.py``) covers every cell; this pass shows the
same answers come out of uvicorn over a socket, where the client really is 127.0.0.1, so the
trusted proxy's header is honoured, and a session cookie travels as a browser's would.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support.apiclients import unchanged_dump
from support.servers import live_server

from workflow import Engine

pytestmark = pytest.mark.slow  # a real `phasegate serve` on each backend: 4.4 s a test (measured 2026-12-07)

PASSWORD = "correct horse battery"


def prepare(db_url: str) -> dict[str, str]:
    from support.servers import people

    with Engine(db_url) as engine:
        tokens = people(engine, {"lee": (), "hol": (), "out": (), "aud": ("auditor",)})
        engine.set_password("hol", PASSWORD, actor="root")
        engine.create_project("V", template="team-based", actor="root")
        engine.assign("V", "integrated_producer", "lee", actor="root")
        engine.assign("V", "team", "hol", actor="root")
    return tokens


def test_a_real_server_gives_the_matrixs_answers(db_url: str, tmp_path: Path) -> None:
    tokens = prepare(db_url)
    args = ("--proxy-header", "X-Forwarded-User", "--trusted-proxy", "127.0.0.1/32")
    with live_server(db_url, tmp_path / "server.log", *args) as server:
        with Engine(db_url) as engine:
            before = unchanged_dump(engine)
        with server.client() as nobody, server.client(tokens["out"]) as out, \
                server.client(tokens["hol"]) as hol, server.client(tokens["aud"]) as aud:
            assert nobody.get("/api/v1/projects/V").status_code == 401
            assert out.get("/api/v1/projects/V").status_code == 403
            assert out.get("/api/v1/projects/NOPE").json() == {"error": {
                "kind": "not_permitted",
                "message": out.get("/api/v1/projects/V").json()["error"]["message"].replace(" V:", " NOPE:"),
            }}
            assert hol.post("/api/v1/projects/V/advance").status_code == 403
            assert aud.post("/api/v1/projects/V/hold", json={"reason": "r"}).status_code == 403
            assert out.get("/api/v1/audit/export").status_code == 403
            assert hol.get("/api/v1/people").status_code == 403
        with Engine(db_url) as engine:
            after = unchanged_dump(engine)
        assert after == before, "the refusals changed nothing"

        with server.client() as proxied:  # from 127.0.0.1: the trusted proxy
            me = proxied.get("/api/v1/me", headers={"X-Forwarded-User": "lee"})
            assert (me.json()["person"], me.json()["auth"]) == ("lee", "proxy")
            assert proxied.get("/api/v1/me", headers={"X-Forwarded-User": "nobody"}).status_code == 401
        with server.client() as browser:
            signed_in = browser.post("/api/v1/me/session", json={"login": "hol", "password": PASSWORD})
            assert signed_in.status_code == 200 and "HttpOnly" in signed_in.headers["set-cookie"]
            csrf = signed_in.json()["csrf"]
            assert browser.post("/api/v1/projects/V/tasks/team/done").status_code == 403, "no CSRF token"
            done = browser.post("/api/v1/projects/V/tasks/team/done", headers={"X-CSRF-Token": csrf})
            assert (done.status_code, done.json()["auth"]) == (200, "password")
            assert browser.delete("/api/v1/me/session", headers={"X-CSRF-Token": csrf}).status_code == 204
            assert browser.get("/api/v1/me").status_code == 401
        with server.client(tokens["lee"]) as lee:
            assert lee.post("/api/v1/projects/V/tasks/integrated_producer/done").status_code == 200
            assert lee.post("/api/v1/projects/V/approvals", json={"role": "integrated_producer"}).status_code == 200
            assert hol_approves(server.url, tokens["hol"]) == 200
            advanced = lee.post("/api/v1/projects/V/advance")
            assert (advanced.status_code, advanced.json()["data"]["to_phase"]) == (200, "production_kickoff")
        assert httpx.get(f"{server.url}/api/v1/openapi.json").status_code == 200, "the document is public"


def hol_approves(url: str, token: str) -> int:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as hol:
        return hol.post("/api/v1/projects/V/approvals", json={"role": "team"}).status_code
