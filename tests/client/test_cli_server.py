"""`phasegate --server URL` as a user runs it: the installed command in a subprocess, a real server.

The bulk of the CLI's tests run over an in-process app (tests/support/cli_runs.py); these few go
through `phasegate serve` on loopback, on SQLite and PostgreSQL, with the token in the
environment as the contract says, and end with the issue's "done when": three people
run a large-agency project to completed, each with their own token.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support.servers import PYTHONPATH, live_server, people

from workflow import Engine
from workflow.client import RemoteEngine
from workflow.domain.templates.loader import builtin_paths, load_file

pytestmark = pytest.mark.slow  # the installed command against a real `phasegate serve`: 10.6 s a test (measured 2026-12-07)

Phasegate = Callable[..., subprocess.CompletedProcess[str]]


def phasegate_command(cwd: Path, **env: str) -> Phasegate:
    """The installed `phasegate` (or `python -m workflow.cli`), with only the environment given."""
    beside = Path(sys.executable).with_name("phasegate")  # this interpreter's own script, not a shim
    exe = str(beside) if beside.exists() else shutil.which("phasegate")
    command = [exe] if exe else [sys.executable, "-m", "workflow.cli"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("PHASEGATE_")}
    base.update(PYTHONPATH=PYTHONPATH, HOME=str(cwd), XDG_DATA_HOME=str(cwd / "data"), **env)

    def run(*args: str, token: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        full = {**base, **({} if token is None else {"PHASEGATE_TOKEN": token})}
        return subprocess.run([*command, *args], capture_output=True, text=True, env=full, cwd=cwd, input=stdin,
                              timeout=120, check=False)

    return run


def at_once(phasegate: Phasegate, calls: list[tuple[str, list[str]]]) -> None:
    """Several people's commands at the same time (token, arguments), each one a process; all must succeed."""
    with ThreadPoolExecutor(max_workers=len(calls) or 1) as pool:
        done = list(pool.map(lambda call: phasegate(*call[1], token=call[0]), calls))
    for (_token, args), result in zip(calls, done, strict=True):
        assert result.returncode == 0, (args, result.stdout, result.stderr)


def test_the_installed_command_works_through_a_real_server(db_url: str, tmp_path: Path) -> None:
    with Engine(db_url) as engine:
        tokens = people(engine, {"ana": (), "ben": (), "olga": ("auditor",)})
    with live_server(db_url, tmp_path / "server.log") as server:
        phasegate = phasegate_command(tmp_path, PHASEGATE_SERVER=server.url)
        for args in (["project", "create", "S-1", "--template", "team-based"],
                     ["project", "assign", "S-1", "integrated_producer", "ana"],
                     ["project", "assign", "S-1", "team", "ben"]):
            assert phasegate(*args, token=tokens["root"]).returncode == 0, args
        done = phasegate("task", "done", "S-1", "team", "--note", "kick-off held", token=tokens["ben"])
        assert (done.returncode, done.stdout) == (0, "S-1: Team's task 'Client Kick-Off' done by ben\n")
        refused = phasegate("advance", "S-1", token=tokens["ana"])
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.splitlines()[0] == "Error: S-1 cannot leave Client Kick-Off yet:"
        status = json.loads(phasegate("--json", "project", "status", "S-1", token=tokens["ben"]).stdout)
        assert status["tasks"][1]["by"] == "ben" and status["tasks"][1]["auth"] == "token"
        assert phasegate("project", "status", "S-1", token=tokens["olga"]).returncode == 0
        assert phasegate("audit", "verify", token=tokens["olga"]).stdout.startswith("verified ")
        exported = phasegate("audit", "export", "--format", "csv", token=tokens["olga"]).stdout
        as_spoofer = phasegate("--as", "root", "advance", "S-1", token=tokens["ben"])
        assert as_spoofer.returncode == 2 and "--as is not used with --server" in as_spoofer.stderr
        tokenless = phasegate("project", "list")
        assert tokenless.returncode == 4 and "PHASEGATE_TOKEN" in tokenless.stderr
        wrong = phasegate("project", "list", token="pgt_" + "x" * 43)
        assert (wrong.returncode, wrong.stderr) == (4, "Error: the token is not valid\n")
    with Engine(db_url) as engine:
        direct = io.StringIO()
        engine.export(direct, "csv")
        assert exported == direct.getvalue()  # what the server streamed is the database's own export
        events = engine.history("S-1")
        assert [(e.actor, e.auth) for e in events] == [("root", "token")] * 3 + [("ben", "token")]
    assert "Traceback" not in server.log_text()


def test_an_export_arrives_chunk_by_chunk_over_a_real_connection(sqlite_url: str, tmp_path: Path) -> None:
    with Engine(sqlite_url) as engine:
        tokens = people(engine, {"olga": ("auditor",)})
        engine.create_project("E-1", template="team-based", actor="root")
        engine.assign("E-1", "integrated_producer", "root", actor="root")
        for n in range(150):
            engine.hold("E-1", actor="root", reason=f"pause {n} " + "x" * 200)
            engine.resume("E-1", actor="root")
        expected = io.StringIO()
        count = engine.export(expected, "jsonl")
    chunks: list[str] = []

    class Sink:
        def write(self, text: str) -> int:
            chunks.append(text)
            return len(text)

    with live_server(sqlite_url, tmp_path / "server.log") as server, \
            RemoteEngine(url=server.url + "/", token=tokens["olga"]) as remote:
        assert remote.export(Sink(), "jsonl") == count
    assert "".join(chunks) == expected.getvalue()
    assert len(chunks) > 1, "streamed, not one body"


def signs_in_and_makes_a_token(url: str, login: str, password: str) -> str:
    """What a person does on the web app's "my tokens" page: sign in, create a token, sign out."""
    with httpx.Client(base_url=url, timeout=30) as web:
        session = web.post("/api/v1/me/session", json={"login": login, "password": password})
        assert session.status_code == 200, session.text
        csrf = {"X-CSRF-Token": session.json()["csrf"]}
        made = web.post("/api/v1/me/tokens", json={"name": "cli"}, headers=csrf)
        assert made.status_code == 201, made.text
        assert web.delete("/api/v1/me/session", headers=csrf).status_code == 204
        return str(made.json()["token"])


LARGE_TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}


@pytest.mark.slow
def test_three_people_run_a_large_agency_project_to_completed_each_with_their_own_token(
    db_url: str, tmp_path: Path
) -> None:
    """Issue 13, "done when": from an empty database, an admin with a password and a token; a real
    server; the whole project through `phasegate --server`, as three people; `auth: token` on every
    command after the set-up, and nobody acting for somebody else."""
    local = phasegate_command(tmp_path, PHASEGATE_DB=db_url, PHASEGATE_USER="ana")
    for args, stdin in ((["init", "--admin", "ana"], None), (["user", "add", "ana", "--name", "Ana"], None),
                        (["user", "password", "ana", "--password-stdin"], "ana's long passphrase\n")):
        assert local(*args, stdin=stdin).returncode == 0, args
    made = local("--json", "token", "create", "--name", "ana's laptop")
    ana = json.loads(made.stdout)["token"]
    with live_server(db_url, tmp_path / "server.log") as server:
        remote = phasegate_command(tmp_path, PHASEGATE_SERVER=server.url)

        def ok(person_token: str, *args: str, stdin: str | None = None) -> str:
            done = remote(*args, token=person_token, stdin=stdin)
            assert done.returncode == 0, (args, done.stdout, done.stderr)
            return done.stdout

        tokens = {"ana": ana}
        for person in ("ben", "cy"):  # accounts through the server; each person makes their own token
            ok(ana, "user", "add", person)
            ok(ana, "user", "password", person, "--password-stdin", stdin=f"{person}'s first passphrase\n")
            tokens[person] = signs_in_and_makes_a_token(server.url, person, f"{person}'s first passphrase")
        ok(ana, "project", "create", "DONE-1", "--template", "large-agency", "--name", "Done when")
        for role, person in LARGE_TEAM.items():
            ok(ana, "project", "assign", "DONE-1", role, person)
        impostor = remote("task", "done", "DONE-1", "head_of_technology", token=tokens["cy"])
        assert impostor.returncode == 4
        assert impostor.stderr.startswith("Error: cy does not hold the Head of Technology role on DONE-1")
        assert remote("advance", "DONE-1", token=tokens["ben"]).returncode == 4  # the lead's move, not ben's
        claim = remote("--as", "ana", "advance", "DONE-1", token=tokens["ben"])
        assert claim.returncode == 2 and "--as is not used with --server" in claim.stderr
        for phase in load_file(builtin_paths()["large-agency"]).phases:  # the three at once, as teams work
            at_once(remote, [(tokens[LARGE_TEAM[role]], ["task", "done", "DONE-1", role]) for role, _ in phase.tasks])
            signers = phase.gate.approvers if phase.gate else ()
            at_once(remote, [(tokens[LARGE_TEAM[role]], ["approve", "DONE-1", role]) for role in signers])
            ok(ana, "advance", "DONE-1")
        status = json.loads(ok(tokens["cy"], "--json", "project", "status", "DONE-1"))
        assert status["status"] == "completed"
        history = [json.loads(line) for line in ok(ana, "--json", "history", "DONE-1").splitlines()]
        assert ok(ana, "audit", "verify").startswith("verified ")
        system = [json.loads(line) for line in ok(ana, "audit", "export").splitlines() if '"@system"' in line]
    assert {(e["action"], e["auth"]) for e in history} >= {("create", "token"), ("advance", "token")}
    assert all(e["auth"] == "token" for e in history), [e for e in history if e["auth"] != "token"]
    assert {e["actor"] for e in history} == {"ana", "ben", "cy"}
    for event in history:  # each signed for a role they hold, as themselves
        role = event["data"].get("role")
        if event["action"] in ("task.done", "approve"):
            assert LARGE_TEAM[role] == event["actor"], event
    set_up, after = system[:-6], system[-6:]  # user add, password, token create: for ben, then for cy
    assert all(e["auth"] == "asserted" for e in set_up if e["action"].startswith(("user.", "token.")))
    assert [(e["action"], e["actor"], e["auth"]) for e in after] == [
        ("user.add", "ana", "token"), ("user.password", "ana", "token"), ("token.create", "ben", "password"),
        ("user.add", "ana", "token"), ("user.password", "ana", "token"), ("token.create", "cy", "password"),
    ]
