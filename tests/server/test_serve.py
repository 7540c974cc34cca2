"""A real ``phasegate serve`` process on loopback, on SQLite and PostgreSQL: the basics end to end."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support.servers import live_server, people

from workflow import Engine

pytestmark = pytest.mark.slow  # a real `phasegate serve` on each backend: 8.5 s a test (measured 2026-12-07)


def test_a_real_server_takes_token_writes_and_records_how_each_was_authenticated(
    db_url: str, tmp_path: Path
) -> None:
    with Engine(db_url) as engine:
        tokens = people(engine, {"ana": (), "ben": ()})
    with live_server(db_url, tmp_path / "server.log") as server:
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        with server.client(tokens["root"]) as root, server.client(tokens["ana"]) as ana:
            check_the_basics(root, ana)
        assert httpx.get(f"{server.url}/api/v1/me").status_code == 401
    with Engine(db_url) as engine:
        history = engine.history("S-1")
        assert [(e.action, e.actor, e.auth) for e in history[-2:]] == [("task.done", "ana", "token"),
                                                                         ("approve", "ana", "token")]
        assert engine.verify_audit().ok
    assert '"path": "/api/v1/projects/{code}/tasks/{role}/done"' in server.log_text()
    assert tokens["ana"] not in server.log_text(), "no secret is logged"


def check_the_basics(root: httpx.Client, ana: httpx.Client) -> None:
    assert root.post("/api/v1/projects", json={"code": "S-1", "template": "team-based"}).status_code == 201
    assert root.put("/api/v1/projects/S-1/team/integrated_producer/ana").status_code == 200
    done = ana.post("/api/v1/projects/S-1/tasks/integrated_producer/done", json={"note": "kick-off held"})
    assert done.status_code == 200 and done.json()["auth"] == "token" and done.json()["actor"] == "ana"
    # Nobody acts as anybody else: an actor in the body is not even read.
    spoof = ana.post("/api/v1/projects/S-1/approvals", json={"role": "integrated_producer", "actor": "root"})
    assert spoof.json()["actor"] == "ana"
    status = ana.get("/api/v1/projects/S-1")
    assert status.headers["ETag"] == f'"{status.json()["seq"]}"'
    assert status.json()["tasks"][0]["auth"] == "token"
