"""The auditor's commands: verify (with a checkpoint), checkpoint, export, status --at, report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from support.cli_runs import Run, cli_session, must_succeed

TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}



@pytest.fixture
def run(db_url: str, transport: str) -> Iterator[Run]:
    """On the database, and through a server on it (tests/support/cli_runs.py)."""
    with cli_session(db_url, transport) as invoke:
        yield invoke


@pytest.fixture
def ok(run: Run) -> Run:
    return must_succeed(run)


@pytest.fixture
def acme(ok: Run) -> Run:
    """ACME-1 on large-agency through its first phase (11 events); olga holds only the auditor grant."""
    ok("init", "--admin", "ana")
    ok("grant", "olga", "auditor")
    ok("project", "create", "ACME-1", "--template", "large-agency")
    for role, person in TEAM.items():
        ok("project", "assign", "ACME-1", role, person)
    for role, person in TEAM.items():
        ok("task", "done", "ACME-1", role, actor=person)
    for role, person in TEAM.items():
        ok("approve", "ACME-1", role, "--comment", "fine", actor=person)
    ok("advance", "ACME-1")
    return ok


@pytest.fixture
def sql(db_url: str) -> Iterator[sqlalchemy.Engine]:
    client = sqlalchemy.create_engine(db_url)
    yield client
    client.dispose()


def tamper(sql: sqlalchemy.Engine, statement: str, **params: object) -> None:
    """What someone with a SQL client does: drop the append-only triggers, then edit."""
    with sql.begin() as conn:
        if conn.dialect.name == "postgresql":
            for name in ("events_no_update", "events_no_delete", "events_no_truncate"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON events"))
        else:
            for name in ("events_no_update", "events_no_delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        conn.execute(text(statement), params)


# -- the auditor ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_auditor_with_only_the_auditor_grant_can_verify_export_and_report(
    acme: Run, tmp_path: Path
) -> None:
    assert acme("audit", "verify", actor="olga").output.startswith("verified ")
    assert acme("audit", "verify", "ACME-1", actor="olga").output.startswith("verified 11 events in 1 chain")
    acme("audit", "checkpoint", "--output", str(tmp_path / "cp.json"), actor="olga")
    acme("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"), actor="olga")
    lines = acme("audit", "export", "--project", "ACME-1", actor="olga").stdout.splitlines()
    assert len(lines) == 11 and json.loads(lines[0])["action"] == "create"
    acme("audit", "export", "--format", "csv", "--output", str(tmp_path / "all.csv"), actor="olga")
    assert "Client Kick-Off, round 1" in acme("report", "ACME-1", actor="olga").output
    acme("report", "--template", "large-agency", actor="olga")
    acme("history", "ACME-1", "--phase", "client_kickoff", actor="olga")
    acme("project", "status", "ACME-1", "--at", "2999-01-01", actor="olga")


@pytest.mark.parametrize(
    "command",
    [
        ("project", "create", "X-1", "--template", "team-based"),
        ("project", "assign", "ACME-1", "project_manager", "olga"),
        ("project", "unassign", "ACME-1", "project_manager", "cy"),
        ("task", "done", "ACME-1", "project_manager"),
        ("approve", "ACME-1", "project_manager"),
        ("reject", "ACME-1", "project_manager", "--reason", "no"),
        ("advance", "ACME-1"),
        ("hold", "ACME-1", "--reason", "no"),
        ("resume", "ACME-1"),
        ("cancel", "ACME-1", "--reason", "no"),
        ("grant", "olga", "admin"),
        ("revoke", "ana", "admin"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_every_change_command_refuses_an_auditor_with_exit_4(
    acme: Run, run: Run, command: tuple[str, ...]
) -> None:
    before = acme("audit", "export", actor="olga").stdout
    result = run(*command, actor="olga")
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith("Error: ") and "olga" in result.stderr
    assert acme("audit", "export", actor="olga").stdout == before


@pytest.mark.slow
def test_team_members_read_their_own_report_but_not_verify_or_export(acme: Run, run: Run) -> None:
    acme("report", "ACME-1", actor="ben")
    for command in (
        ("audit", "verify"),
        ("audit", "export"),
        ("audit", "checkpoint"),
        ("report", "--template", "large-agency"),
    ):
        assert run(*command, actor="ben").exit_code == 4
    assert run("report", "ACME-1", actor="mallory").exit_code == 4


# -- tampering through a database client ------------------------------------------------------------


@pytest.mark.parametrize("column", ["seq", "at", "actor", "action", "phase", "data", "prev_hash", "hash"])
@pytest.mark.slow
def test_any_client_edit_to_an_audit_row_fails_verify_with_exit_6_naming_the_event(
    acme: Run, run: Run, sql: sqlalchemy.Engine, column: str
) -> None:
    if column == "seq":
        tamper(sql, "UPDATE events SET seq = 97 WHERE chain = 'ACME-1' AND seq = 7")
    else:
        with sql.connect() as conn:
            value = conn.execute(
                text(f"SELECT {column} FROM events WHERE chain = 'ACME-1' AND seq = 7")
            ).scalar_one()
        tamper(sql, f"UPDATE events SET {column} = :v WHERE chain = 'ACME-1' AND seq = 7", v=value[:-1] + "#")
    result = run("audit", "verify", actor="olga")
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: audit verification failed: project ACME-1, event 7: edited")


@pytest.mark.slow
def test_a_deleted_event_fails_verify_with_exit_6(acme: Run, run: Run, sql: sqlalchemy.Engine) -> None:
    tamper(sql, "DELETE FROM events WHERE chain = 'ACME-1' AND seq = 4")
    result = run("audit", "verify", "ACME-1", actor="olga")
    assert result.exit_code == 6 and "project ACME-1, event 4: missing" in result.stderr


@pytest.mark.slow
def test_verify_against_a_checkpoint_catches_a_deleted_tail_and_a_tampered_file(
    acme: Run, run: Run, sql: sqlalchemy.Engine, tmp_path: Path
) -> None:
    cp = tmp_path / "cp.json"
    out = acme("audit", "checkpoint", "--output", str(cp), actor="olga").output
    assert "written to" in out and "keep it outside the database" in out
    assert run("audit", "checkpoint", "--output", str(cp), actor="olga").exit_code == 2  # never overwrites

    doc = json.loads(cp.read_text())
    doc["created_at"] = "2000-01-01T00:00:00.000000Z"
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    result = run("audit", "verify", "--checkpoint", str(tmp_path / "edited.json"), actor="olga")
    assert result.exit_code == 6 and "digest does not match" in result.stderr

    with sql.connect() as conn:
        head = conn.execute(text("SELECT hash FROM events WHERE chain = 'ACME-1' AND seq = 9")).scalar_one()
    tamper(sql, "DELETE FROM events WHERE chain = 'ACME-1' AND seq > 9")
    tamper(sql, "UPDATE projects SET seq = 9, head_hash = :h WHERE code = 'ACME-1'", h=head)
    assert run("audit", "verify", "--no-replay", actor="olga").exit_code == 0
    result = run("audit", "verify", actor="olga")
    assert result.exit_code == 6 and "project ACME-1, event 9: state differs (projects.phase is" in result.stderr
    result = run("audit", "verify", "--checkpoint", str(cp), "--no-replay", actor="olga")
    assert result.exit_code == 6
    assert "project ACME-1, event 10: missing" in result.stderr


@pytest.mark.slow
def test_a_signed_checkpoint_needs_the_key(
    acme: Run, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHASEGATE_CHECKPOINT_KEY", "s3cret")
    cp = tmp_path / "cp.json"
    acme("audit", "checkpoint", "--output", str(cp), actor="olga")
    assert "signature checked" in acme("audit", "verify", "--checkpoint", str(cp), actor="olga").output
    monkeypatch.setenv("PHASEGATE_CHECKPOINT_KEY", "guessed")
    assert run("audit", "verify", "--checkpoint", str(cp), actor="olga").exit_code == 6


# -- export, status --at, report ----------------------------------------------------------------------


@pytest.mark.slow
def test_export_to_a_file_as_csv_and_to_stdout_as_jsonl_match_history(acme: Run, tmp_path: Path) -> None:
    history = [json.loads(line) for line in acme("history", "ACME-1", as_json=True).stdout.splitlines()]
    jsonl = [
        json.loads(line)
        for line in acme("audit", "export", "--project", "ACME-1", actor="olga").stdout.splitlines()
    ]
    assert jsonl == history
    out = tmp_path / "acme.csv"
    assert (
        "11 events written"
        in acme(
            "audit", "export", "--format", "csv", "--project", "ACME-1", "--output", str(out), actor="olga"
        ).output
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(int(r["seq"]), r["hash"], r["actor"]) for r in rows] == [
        (e["seq"], e["hash"], e["actor"]) for e in history
    ]


@pytest.mark.slow
def test_project_status_at_a_past_moment(acme: Run) -> None:
    events = [json.loads(line) for line in acme("history", "ACME-1", as_json=True).stdout.splitlines()]
    then = json.loads(acme("project", "status", "ACME-1", "--at", events[6]["at"], as_json=True).stdout)
    assert (then["phase"], then["as_of"], then["seq"]) == ("client_kickoff", events[6]["at"], 7)
    assert [t["done"] for t in then["tasks"]] == [True, True, True]
    assert then["gate"]["approvals"] == []
    human = acme("project", "status", "ACME-1", "--at", events[6]["at"]).output
    assert human.startswith(f"as of {events[6]['at']}")


def test_verify_of_one_project_says_one_chain(acme: Run) -> None:
    """"11 events in 1 chains" (issue 21, LOW)."""
    said = acme("audit", "verify", "ACME-1", actor="olga").output
    assert said.startswith("verified 11 events in 1 chain;") and "1 chains" not in said


def test_history_accepts_the_clocks_actions_and_refuses_since_after_until(acme: Run, run: Run) -> None:
    """history --action remind|escalate|overdue was refused (exit 2); a range that cannot match is refused
    with why, rather than answered with no events (issue 21, item 9)."""
    for action in ("remind", "escalate", "overdue", "due"):
        assert acme("history", "ACME-1", "--action", action).exit_code == 0
    backwards = run("history", "ACME-1", "--since", "2026-12-10", "--until", "2026-12-01")
    assert backwards.exit_code == 2 and "is after until" in backwards.output + backwards.stderr
    unknown = run("history", "ACME-1", "--action", "rejected")
    assert unknown.exit_code == 2 and "remind" in unknown.output + unknown.stderr


@pytest.mark.slow
def test_report_writes_a_self_contained_html_timeline(acme: Run, run: Run, tmp_path: Path) -> None:
    page = tmp_path / "acme.html"
    out = acme("report", "ACME-1", "--html", str(page), actor="olga").output
    assert "timeline written to" in out

    class Bars(HTMLParser):
        bars = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "rect" and "visit" in (dict(attrs).get("class") or "").split():
                Bars.bars += 1

    Bars().feed(page.read_text(encoding="utf-8"))
    assert Bars.bars == 2  # client kick-off round 1, production kick-off round 1 (current)
    assert run("report", actor="olga").exit_code == 2
    assert run("report", "ACME-1", "--template", "large-agency", actor="olga").exit_code == 2
    summary = json.loads(acme("report", "--template", "large-agency", as_json=True, actor="olga").stdout)
    assert summary["projects"] == 1
