"""`phasegate delegate …` and acting on someone's behalf (issue 26), on the database and through a server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.cli_runs import Run, cli_session, must_succeed


def day(offset: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


@pytest.fixture
def run(tmp_path: Path, transport: str) -> Iterator[Run]:
    with cli_session(f"sqlite:///{tmp_path}/delegate.db", transport) as invoke:
        ok = must_succeed(invoke)
        ok("init", "--admin", "ana")
        ok("project", "create", "P-1", "--template", "team-based")
        ok("project", "assign", "P-1", "team", "ben")
        yield invoke


def test_a_delegation_is_made_listed_used_and_ended(run: Run) -> None:
    ok = must_succeed(run)
    made = json.loads(ok("delegate", "ben", "--to", "dee", "--from", day(), "--until", day(6),
                         "--reason", "holiday", actor="ben", as_json=True).stdout)
    assert made["person"] == "ben" and made["to"] == "dee" and made["roles"] == []
    listed = ok("delegate", "list", actor="dee").output
    assert made["id"] in listed and "ben" in listed
    done = json.loads(ok("task", "done", "P-1", "team", "--on-behalf-of", "ben", actor="dee",
                         as_json=True).stdout)
    assert done["actor"] == "dee" and done["data"]["on_behalf_of"] == "ben"
    assert ok("delegate", "end", made["id"], actor="ben").output == f"delegation {made['id']} ended\n"
    assert "ended" in ok("delegate", "list", actor="ben").output


def test_refusals_say_why(run: Run) -> None:
    refused = run("delegate", "ben", "--to", "ben", "--from", day(), "--until", day(3), actor="ben")
    assert refused.exit_code == 1 and "cannot delegate to themselves" in refused.stderr
    other = run("delegate", "ben", "--to", "dee", "--from", day(), "--until", day(3), actor="cy")
    assert other.exit_code == 4 and "only ben or an admin" in other.stderr
    missing = run("delegate", "ben", "--to", "dee", actor="ben")
    assert missing.exit_code == 2 and "--from, --until" in missing.stderr
    stranger = run("task", "done", "P-1", "team", actor="dee")
    assert stranger.exit_code == 4
