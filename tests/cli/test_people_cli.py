"""`phasegate user …` and `phasegate token …`, on the database and through a server on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli_runs import Run, cli_session, must_succeed


@pytest.fixture
def run(tmp_path: Path, transport: str) -> Iterator[Run]:
    with cli_session(f"sqlite:///{tmp_path}/people.db", transport) as invoke:
        must_succeed(invoke)("init", "--admin", "ana")
        yield invoke


def row(output: str, first: str) -> list[str]:
    """The words of the table row that starts with ``first``."""
    (found,) = [line.split() for line in output.splitlines() if line.split()[:1] == [first]]
    return found


@pytest.mark.slow
def test_an_admin_adds_an_account_and_sets_its_password_from_stdin(run: Run) -> None:
    ok = must_succeed(run)
    added = ok("user", "add", "ben", "--name", "Ben", "--email", "ben@example.com").output
    assert added == "ben has an account now; set a password with `phasegate user password ben`\n"
    assert row(ok("user", "list").output, "ben") == ["ben", "Ben", "ben@example.com", "active", "no", "password"]
    set_it = ok("user", "password", "ben", "--password-stdin", input="correct horse battery\n")
    assert set_it.output == "ben's password is set; their other sessions have ended\n"
    listed = json.loads(ok("user", "list", as_json=True).stdout)
    assert [p["has_password"] for p in listed if p["login"] == "ben"] == [True]
    short = run("user", "password", "ben", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "a password needs at least" in short.stderr
    assert run("user", "add", "cy", actor="ben").exit_code == 4
    assert run("user", "add", "ben").stderr == "Error: ben has an account already\n"


def test_a_disabled_account_changes_nothing_until_it_is_enabled(run: Run, transport: str) -> None:
    """(Through a server it cannot even read: its tokens are revoked, and stay so when the account is
    enabled again. On the database, where anyone can read the file, reads are not refused.)"""
    ok = must_succeed(run)
    ok("user", "add", "ben")
    ok("project", "create", "P-1", "--template", "team-based")
    ok("project", "assign", "P-1", "team", "ben")
    ok("project", "status", "P-1", actor="ben")
    assert ok("user", "disable", "ben").output == "ben's account is disabled\n"
    refused = run("task", "done", "P-1", "team", actor="ben")
    assert (refused.exit_code, refused.stderr) == (4, "Error: ben's account is disabled\n")
    again = run("user", "disable", "ben")
    assert (again.exit_code, again.stderr) == (1, "Error: ben's account is disabled already\n")
    assert ok("user", "enable", "ben").output == "ben's account is enabled\n"
    if transport == "server":
        revived = run("task", "done", "P-1", "team", actor="ben")
        assert revived.exit_code == 4 and "was revoked" in revived.stderr, "enabling it revives no token"
        run.__self__.tokens.pop("ben")  # type: ignore[attr-defined]  # a new token, as after signing in again
    ok("task", "done", "P-1", "team", actor="ben")


@pytest.mark.slow
def test_a_person_creates_lists_and_revokes_their_own_tokens(run: Run) -> None:
    ok = must_succeed(run)
    ok("user", "add", "ben")
    created = ok("token", "create", "--name", "laptop", "--expires-in", "90d", actor="ben").output.splitlines()
    assert created[0].startswith("token tok_") and created[0].split()[2:5] == ["for", "ben,", "expires"]
    assert created[1].startswith("pgt_") and created[2].startswith("Keep it now")
    token_id = created[0].split()[1]
    laptop = row(ok("token", "list", actor="ben").output, token_id)
    assert laptop[1] == "laptop" and laptop[-1] == "active"
    as_json = json.loads(ok("token", "create", actor="ben", as_json=True).stdout)
    assert set(as_json) == {"id", "person", "name", "created_at", "expires_at", "last_used_at", "revoked_at",
                            "token"}
    assert (as_json["person"], as_json["last_used_at"], as_json["revoked_at"]) == ("ben", None, None)
    assert ok("token", "revoke", token_id, actor="ben").output == f"token {token_id} revoked\n"
    assert row(ok("token", "list", actor="ben").output, token_id)[-3] == "revoked"
    twice = run("token", "revoke", token_id, actor="ben")
    assert twice.exit_code == 1 and "was revoked already" in twice.stderr
    assert run("token", "revoke", as_json["id"], actor="cy").exit_code == 3  # not cy's, and cy is no admin
