"""One script of commands, run on the database and through a server: the same output, byte for byte.

product.md, "The CLI as a client": same arguments, same output, same exit codes. The
other CLI tests run over both transports and check what they check; this one compares
everything a session prints, stdout and stderr, human and --json, refusals included.
Only what differs between any two runs is blanked: times, durations, hashes, token ids,
temporary paths, and ``auth`` (``asserted`` on the database, ``token`` through the
server: the one difference the contract asks for).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.cli_runs import InProcessServer, cli_runner, cli_session

from workflow.domain.templates.loader import builtin_paths

pytestmark = pytest.mark.slow  # a whole CLI session on the database and through a server: 1.7 s a test (measured 2026-12-07)

PEOPLE = ("ana", "ben", "cy", "olga", "stranger")
TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}


def script(folder: Path) -> list[tuple[str, list[str]]]:
    """(actor, arguments) of a session that touches every command a server can run."""
    changed = folder / "large-agency.yaml"
    changed.write_text(builtin_paths()["large-agency"].read_text(encoding="utf-8")
                       .replace("title: Planning", "title: Planning & Scoping"), encoding="utf-8")
    broken = folder / "broken.yaml"
    broken.write_text("key: x\nsurprise: 1\n", encoding="utf-8")
    steps: list[tuple[str, list[str]]] = [
        ("ana", ["grant", "olga", "auditor"]),
        ("ana", ["grant", "list"]),
        ("ben", ["grant", "olga", "admin"]),
        ("ana", ["template", "list"]),
        ("ana", ["template", "show", "large-agency"]),
        ("ana", ["--json", "template", "show", "team-based", "--version", "1"]),
        ("ana", ["template", "show", "nope"]),
        ("ana", ["template", "publish", str(changed)]),
        ("ana", ["template", "publish", str(changed)]),
        ("ana", ["template", "publish", str(broken)]),
        ("ben", ["template", "publish", str(changed)]),
        ("ana", ["template", "diagram", "large-agency", "--format", "dot", "--version", "1"]),
        ("ana", ["project", "create", "ACME-1", "--template", "large-agency", "--version", "1", "--name",
                 "Spring launch", "--client", "Acme"]),
        ("ana", ["project", "create", "ACME-1", "--template", "large-agency"]),
        ("ana", ["--json", "project", "create", "bad code!", "--template", "large-agency"]),
        *[("ana", ["project", "assign", "ACME-1", role, person]) for role, person in TEAM.items()],
        ("ana", ["project", "assign", "ACME-1", "janitor", "dee"]),
        ("ana", ["project", "status", "ACME-1"]),
        ("ana", ["--json", "project", "status", "ACME-1"]),
        ("ana", ["advance", "ACME-1"]),
        ("ana", ["--json", "advance", "ACME-1"]),
        ("cy", ["task", "done", "ACME-1", "head_of_technology"]),
        ("ben", ["task", "done", "ACME-1", "head_of_technology", "--note", "kick-off\nheld", "--request-id", "r-1"]),
        ("ben", ["--json", "task", "done", "ACME-1", "head_of_technology", "--note", "kick-off\nheld",
                 "--request-id", "r-1"]),
        ("ben", ["approve", "ACME-1", "head_of_technology", "--comment", "go"]),
        ("ben", ["withdraw", "ACME-1", "head_of_technology", "--reason", "too soon"]),
        ("ben", ["approve", "ACME-1", "head_of_technology"]),
        ("ana", ["task", "done", "ACME-1", "integrated_producer"]),
        ("cy", ["task", "done", "ACME-1", "project_manager"]),
        ("cy", ["task", "reopen", "ACME-1", "project_manager", "--reason", "redo the notes"]),
        ("cy", ["task", "done", "ACME-1", "project_manager"]),
        ("ana", ["approve", "ACME-1", "integrated_producer"]),
        ("cy", ["approve", "ACME-1", "project_manager"]),
        ("ana", ["advance", "ACME-1"]),
        ("ana", ["hold", "ACME-1", "--reason", "budget review"]),
        ("ben", ["task", "done", "ACME-1", "head_of_technology"]),
        ("ana", ["project", "status", "ACME-1"]),
        ("ana", ["resume", "ACME-1"]),
        ("ana", ["project", "create", "ZED-2", "--template", "team-based"]),
        ("ana", ["project", "list"]),
        ("ana", ["--json", "project", "list", "--limit", "1", "--after", "ACME-1"]),
        ("ana", ["project", "list", "--phase", "bogus"]),
        ("stranger", ["project", "list"]),
        ("stranger", ["project", "status", "ACME-1"]),
        ("ana", ["project", "status", "ACME-1", "--at", "2000-01-01"]),
        ("ana", ["project", "status", "NOPE-9"]),
        ("ana", ["history", "ACME-1"]),
        ("ana", ["--json", "history", "ACME-1", "--last", "3"]),
        ("ana", ["history", "ACME-1", "--actor", "ben", "--action", "approve"]),
        ("ana", ["history", "ACME-1", "--after", "5", "--limit", "4"]),
        ("ana", ["history", "ACME-1", "--since", "yesterday"]),
        ("olga", ["audit", "verify"]),
        ("olga", ["--json", "audit", "verify", "ACME-1"]),
        ("ben", ["audit", "verify"]),
        ("olga", ["audit", "checkpoint", "--output", str(folder / "cp.json")]),
        ("olga", ["audit", "verify", "--checkpoint", str(folder / "cp.json")]),
        ("olga", ["audit", "verify", "--checkpoint", str(folder / "missing.json")]),
        ("olga", ["audit", "export", "--format", "csv"]),
        ("olga", ["audit", "export", "--project", "ACME-1"]),
        ("olga", ["audit", "export", "--format", "csv", "--output", str(folder / "all.csv")]),
        ("ben", ["audit", "export"]),
        ("ana", ["report", "ACME-1"]),
        ("ana", ["report", "ACME-1", "--html", str(folder / "acme.html")]),
        ("olga", ["report", "--template", "large-agency"]),
        ("ana", ["user", "add", "dee", "--name", "Dee", "--email", "dee@example.com"]),
        ("ana", ["user", "add", "dee"]),
        ("ana", ["user", "list"]),
        ("ana", ["user", "disable", "dee"]),
        ("ana", ["user", "disable", "dee"]),
        ("ana", ["user", "enable", "dee"]),
        ("ben", ["user", "add", "eve"]),
        ("ben", ["token", "create", "--name", "laptop", "--expires-in", "90d"]),
        # (not `token list`: through a server the token in use shows its last use, as it should)
        ("ben", ["token", "revoke", "tok_nope"]),
        ("ana", ["revoke", "olga", "auditor"]),
        ("olga", ["audit", "verify"]),
        ("ana", ["cancel", "ACME-1", "--reason", "client withdrew"]),
        ("ana", ["resume", "ACME-1"]),
        ("ana", ["--json", "history", "ACME-1", "--last", "1"]),
    ]
    return steps


BLANKS = [
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z"), "TIME"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "HASH"),
    (re.compile(r"\btok_[A-Za-z0-9_-]+"), "TOKEN-ID"),
    (re.compile(r"\bpgt_[A-Za-z0-9_-]{20,}"), "SECRET"),
    (re.compile(r"\b(\d+d \d\dh|\d+h \d\dm|\d+m \d\ds|\d+(\.\d)?s)\b"), "DURATION"),
    (re.compile(r'(?<=["\'=:,])(asserted|token)(?=["\',])'), "AUTH"),
]


def normalised(text: str, folder: Path) -> str:
    text = text.replace(str(folder), "TMP")
    for pattern, blank in BLANKS:
        text = pattern.sub(blank, text)
    return text


def session(transport: str, folder: Path) -> list[tuple[str, int, str, str]]:
    folder.mkdir()
    url = f"sqlite:///{folder}/t.db"
    out = []
    with InProcessServer(url) as server:
        server.accounts_for_assigned = False  # the same accounts on both sides: PEOPLE's
        run = server.run if transport == "server" else cli_runner(url)
        run("init", "--admin", "ana")
        for person in PEOPLE:  # the same accounts and tokens (and so the same events) on both sides
            server.token(person)
        for actor, args in script(folder):
            result = run(*args, actor=actor)
            out.append((normalised(" ".join(args), folder), result.exit_code, normalised(result.stdout, folder),
                        normalised(result.stderr, folder)))
    return out


def test_a_whole_session_prints_the_same_on_the_database_and_through_a_server(tmp_path: Path) -> None:
    direct = session("direct", tmp_path / "direct")
    server = session("server", tmp_path / "server")
    assert len(direct) == len(server)
    for d, s in zip(direct, server, strict=True):
        assert d == s, f"`{d[0]}` differs"
    codes = {code for _args, code, _out, _err in direct}
    assert codes >= {0, 1, 2, 3, 4, 5}, "the script meets every kind of refusal"


@pytest.mark.parametrize("transport", ["server"])
def test_the_server_session_acts_with_tokens(tmp_path: Path, transport: str) -> None:
    """The one difference blanked above, shown: every command of the session recorded ``auth: token``."""
    with cli_session(f"sqlite:///{tmp_path}/t.db", transport) as run:
        run("init", "--admin", "ana")
        run("project", "create", "T-1", "--template", "team-based")
        run("project", "assign", "T-1", "integrated_producer", "ana")
        events = run("--json", "history", "T-1").stdout.splitlines()
    assert [('"auth":"token"' in e.replace(" ", "")) for e in events] == [True, True]
