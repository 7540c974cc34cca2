"""``phasegate invite`` (issue 24) on the database and through a server: the lead invites the client
(the secret is never printed), a second invitation of the address reissues the link, the list shows
each invitation's state, revoking takes the signer off; every refusal with its sentence and exit code."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli_runs import cli_session
from support.links import BUYER, client_project, payloads

from workflow import Engine


def test_invite_list_and_revoke(db_url: str, transport: str, tmp_path: Path) -> None:
    with Engine(db_url) as engine:
        client_project(engine, tmp_path)
    with cli_session(db_url, transport) as run:
        made = run("invite", "C-1", "client", "--email", BUYER, "--name", "Pat Buyer", actor="pat")
        assert made.exit_code == 0, made.output
        assert f"C-1: {BUYER} invited as Client (invitation inv_" in made.output
        again = run("invite", "new", "C-1", "client", "--email", BUYER, "--expires", "30d", actor="pat",
                    as_json=True)
        assert again.exit_code == 0, again.output
        event = json.loads(again.output)
        assert event["action"] == "invite" and len(event["data"]["replaces"]) == 1
        refusals = [
            (run("invite", "C-1", "tech", "--email", BUYER, actor="pat"), 1, "is not external"),
            (run("invite", "C-1", "client", "--email", f"{BUYER}, x@y.example", actor="pat"), 2,
             "not an e-mail address"),
            (run("invite", "C-1", "client", "--email", BUYER, "--expires", "365d", actor="pat"), 2, "1 to 90"),
            (run("invite", "C-1", "client", "--email", BUYER, actor="tim"), 4, "may not"),
            (run("invite", "C-1", "client", actor="pat"), 2, "--email"),
        ]
        for result, code, words in refusals:
            assert (result.exit_code, words in result.output) == (code, True), result.output
        revoked = run("invite", "revoke", "C-1", event["data"]["invitation"], actor="pat")
        assert revoked.exit_code == 0, revoked.output
        assert f"revoked ({BUYER} left the Client role)" in revoked.output
        assert run("invite", "revoke", "C-1", "inv_nope", actor="pat").exit_code == 3
        listed = run("invite", "list", "C-1", actor="pat")
        assert listed.exit_code == 0, listed.output
        as_data = run("invite", "list", "C-1", actor="tim", as_json=True)  # the team reads them
        assert [i["state"] for i in json.loads(as_data.output)] == ["revoked", "revoked"]
        assert run("invite", "list", "C-1", actor="nobody").exit_code == 4
    lines = listed.output.splitlines()
    assert lines[0].split() == ["ID", "ROLE", "E-MAIL", "NAME", "STATE", "INVITED", "EXPIRES"]
    assert len(lines) == 3 and all(" revoked " in line for line in lines[1:])
    with Engine(db_url) as engine:
        for _id, secret, _to, _status in payloads(engine, "invite"):
            assert secret is None or secret not in made.output + again.output
