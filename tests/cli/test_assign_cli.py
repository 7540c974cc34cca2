"""Issue 21 item 6 at the command line: `project assign` refuses a login without an account where the
database has accounts (exit 3, "no account 'bne'; did you mean ben?"), on the database and through a
server; a database without accounts takes any name, as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli_runs import InProcessServer, cli_runner

from workflow import Engine


def _database(tmp_path: Path, *, accounts: bool) -> str:
    url = f"sqlite:///{tmp_path}/c.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.create_project("P-1", template="team-based", actor="ana")
        if accounts:
            engine.add_user("ana", actor="ana")
            engine.add_user("ben", actor="ana")
    return url


def test_the_direct_cli_refuses_an_unknown_login_with_exit_3_and_the_close_name(tmp_path: Path) -> None:
    run = cli_runner(_database(tmp_path, accounts=True))
    typo = run("project", "assign", "P-1", "team", "bne")
    assert typo.exit_code == 3, typo.output
    assert "no account 'bne'; did you mean ben?" in typo.stderr
    body = json.loads(run("project", "assign", "P-1", "team", "bne", as_json=True).stderr)
    assert body["error"] == {"kind": "not_found", "message": "no account 'bne'; did you mean ben?"}
    assert run("project", "assign", "P-1", "team", "ben").exit_code == 0


def test_the_direct_cli_on_a_database_without_accounts_assigns_any_name(tmp_path: Path) -> None:
    run = cli_runner(_database(tmp_path, accounts=False))
    done = run("project", "assign", "P-1", "team", "bne")
    assert done.exit_code == 0, done.output
    assert "bne now holds the Team role" in done.stdout


@pytest.mark.slow
def test_the_cli_through_a_server_refuses_an_unknown_login_the_same_way(tmp_path: Path) -> None:
    with InProcessServer(_database(tmp_path, accounts=True)) as server:
        server.accounts_for_assigned = False
        typo = server.run("project", "assign", "P-1", "team", "bne")
        assert typo.exit_code == 3, typo.output
        assert "no account 'bne'; did you mean ben?" in typo.stderr
        assert server.run("project", "assign", "P-1", "team", "ben").exit_code == 0
