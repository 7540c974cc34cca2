"""Revoked or disabled means refused on the next request, on a real ``phasegate serve --workers 2`` over
PostgreSQL, whose workers each remember the tokens they verified (engine/people/known.py): a change
made through one worker, or by another process on the database, reaches both at once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support.servers import live_server, people

from workflow import Engine

pytestmark = pytest.mark.slow  # a real two-worker server on PostgreSQL: about 10 s

ROUNDS = 12  # requests on fresh connections: the kernel spreads them over both workers


def statuses(url: str, token: str, *, write: bool = False) -> set[int]:
    """The answers to ROUNDS requests (a status read, or a command refused by its rule: on hold
    already), each on its own connection (so both workers answer some)."""
    seen = set()
    for _ in range(ROUNDS):
        with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            answer = (client.post("/api/v1/projects/P-1/resume") if write
                      else client.get("/api/v1/projects/P-1"))
            seen.add(answer.status_code)
    return seen


def test_a_revoked_token_and_a_disabled_account_are_refused_by_every_worker_at_once(
        pg_url: str, tmp_path: Path) -> None:
    with Engine(pg_url) as engine:
        tokens = people(engine, {"ana": (), "ben": ()})
        engine.create_project("P-1", template="team-based", actor="root")
        engine.assign("P-1", "integrated_producer", "ana", actor="root")
        engine.assign("P-1", "team", "ben", actor="root")
        ana_token = engine.tokens(reader="ana")[0].id
    with live_server(pg_url, tmp_path / "server.log", "--workers", "2", "--tick-every", "0") as server:
        assert statuses(server.url, tokens["ana"]) == {200}  # remembered by both workers now
        assert statuses(server.url, tokens["ana"], write=True) == {409}  # not on hold: the rule refuses
        assert statuses(server.url, tokens["ben"]) == {200}
        with httpx.Client(base_url=server.url, timeout=30,
                          headers={"Authorization": f"Bearer {tokens['ana']}"}) as ana:
            assert ana.delete(f"/api/v1/me/tokens/{ana_token}").status_code == 200  # through one worker
        assert statuses(server.url, tokens["ana"]) == {401}
        assert statuses(server.url, tokens["ana"], write=True) == {401}
        with Engine(pg_url) as other:  # another process on the same database (the command line)
            other.disable_user("ben", actor="root")
        assert statuses(server.url, tokens["ben"]) == {401}
        assert statuses(server.url, tokens["root"]) == {200}
