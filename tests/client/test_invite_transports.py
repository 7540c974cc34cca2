"""``phasegate invite`` / ``invite list`` / ``invite revoke`` over both transports (issue 24; product.md,
"The CLI as a client"): the same arguments, output and exit codes on the database and through
``--server`` (``POST``/``DELETE /projects/{code}/invitations`` from the command table, and
``GET /projects/{code}/invitations`` for the list), with the same authorization: the lead or an admin
invites and revokes; the team reads the list; nobody else. The secret is never in any answer."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli_runs import cli_session
from support.links import BUYER, client_project, payloads

from workflow import Engine


def test_invite_list_and_revoke_over_each_transport(sqlite_url: str, tmp_path: Path, transport: str) -> None:
    with Engine(sqlite_url) as engine:
        client_project(engine, tmp_path)
        engine.add_user("eve", actor="ana")
    with cli_session(sqlite_url, transport) as run:
        made = run("--json", "invite", "C-1", "client", "--email", BUYER, "--name", "Pat Buyer", actor="pat")
        assert made.exit_code == 0, made.output
        invitation = json.loads(made.output)["data"]["invitation"]
        with Engine(sqlite_url) as engine:
            secret = payloads(engine, "invite")[0][1]
        assert secret
        assert run("invite", "C-1", "client", "--email", "x@acme.example", actor="tim").exit_code == 4  # not lead
        assert run("invite", "C-1", "tech", "--email", "x@acme.example", actor="pat").exit_code != 0  # internal
        bad = run("invite", "C-1", "client", "--email", "a@acme.example, b@acme.example", actor="pat")
        assert bad.exit_code == 2, bad.output

        listed = run("invite", "list", "C-1", actor="tim")  # the team reads it
        assert listed.exit_code == 0, listed.output
        assert invitation in listed.output and BUYER in listed.output and "live" in listed.output
        rows = json.loads(run("--json", "invite", "list", "C-1", actor="pat").output)
        assert [(r["id"], r["role"], r["email"], r["state"]) for r in rows] == [
            (invitation, "client", BUYER, "live")]
        assert run("invite", "list", "C-1", actor="eve").exit_code in (3, 4)  # not on the project

        assert run("invite", "revoke", "C-1", invitation, actor="tim").exit_code == 4
        assert run("invite", "revoke", "C-1", invitation, actor="pat").exit_code == 0
        rows = json.loads(run("--json", "invite", "list", "C-1", actor="pat").output)
        assert rows[0]["state"] == "revoked"
    assert secret not in made.output + listed.output + json.dumps(rows)  # never in an answer
    with Engine(sqlite_url) as engine:
        assert payloads(engine, "invite")[0][1] is None  # revoked: the e-mail not sent, its secret cleared
