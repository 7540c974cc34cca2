"""The `phasegate` command line: what people type, what they get back, with the contract's exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.cli_runs import Run, cli_session, must_succeed

from workflow.cli import cli
from workflow.cli.render import json_text, safe
from workflow.domain.templates.loader import builtin_paths, load_file

REPO = Path(__file__).resolve().parents[2]
MODELS = ("large-agency", "digital-agency", "team-based")
LARGE_TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}




@pytest.fixture
def run(tmp_path: Path, transport: str) -> Iterator[Run]:
    """Run `phasegate --db <fresh sqlite> --as <actor> [--json] ARGS…` through click's CliRunner, or the
    same through `--server` with the actor's token (every test that uses it runs over both)."""
    with cli_session(f"sqlite:///{tmp_path}/cli.db", transport) as invoke:
        yield invoke


@pytest.fixture
def ok(run: Run) -> Run:
    """Like ``run`` but the command must succeed."""
    return must_succeed(run)


@pytest.fixture
def acme(ok: Run) -> Run:
    """A database with admin ana and project ACME-1 on large-agency, staffed ana/ben/cy."""
    ok("init", "--admin", "ana")
    ok("project", "create", "ACME-1", "--template", "large-agency", "--name", "Spring launch",
       "--client", "Acme")
    for role, person in LARGE_TEAM.items():
        ok("project", "assign", "ACME-1", role, person)
    return ok


def _status(run: Run, code: str = "ACME-1", actor: str = "ana") -> dict:
    result = run("project", "status", code, as_json=True, actor=actor)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _finish_phase(ok: Run, code: str, team: dict[str, str], phase) -> None:  # type: ignore[no-untyped-def]
    for role, _task in phase.tasks:
        ok("task", "done", code, role, actor=team[role])
    if phase.gate is not None:
        for role in phase.gate.approvers:
            ok("approve", code, role, actor=team[role])


# -- set-up and templates ----------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["direct"])  # a database command
@pytest.mark.slow
def test_init_makes_the_first_admin_and_is_idempotent(ok: Run, run: Run) -> None:
    first = ok("init", "--admin", "ana")
    assert "admin: ana (new)" in first.output
    again = ok("init", "--admin", "ana", as_json=True)
    assert json.loads(again.stdout)["admin_created"] is False
    other = run("init", "--admin", "zed")
    assert other.exit_code == 4
    assert other.stderr.startswith("Error: ")


@pytest.mark.slow
def test_template_list_shows_the_three_built_ins_at_v1(ok: Run) -> None:
    ok("init", "--admin", "ana")
    lines = ok("template", "list").output.splitlines()
    for key in MODELS:
        assert any(line.split()[:2] == [key, "v1"] for line in lines), lines
    listed = json.loads(ok("template", "list", as_json=True).stdout)
    assert {(t["key"], t["version"]) for t in listed} == {(k, 1) for k in MODELS}


def test_template_show_json_has_roles_phases_tasks_and_gates(ok: Run) -> None:
    ok("init", "--admin", "ana")
    shown = json.loads(ok("template", "show", "large-agency", as_json=True).stdout)
    assert shown["key"] == "large-agency" and shown["version"] == 1 and len(shown["sha256"]) == 64
    assert [r["key"] for r in shown["roles"]] == list(LARGE_TEAM)
    assert shown["lead"] == "integrated_producer"
    assert len(shown["phases"]) == 7
    qa = shown["phases"][-1]
    assert qa["gate"] == {"title": "QA sign-off", "approvers": list(LARGE_TEAM), "required": "all",
                          "distinct_people": True, "on_reject": "execution"}
    assert {"role": "head_of_technology", "task": "Production Review QA"} in qa["tasks"]
    assert shown["phases"][3]["gate"] is None
    human = ok("template", "show", "large-agency").output
    assert "Integrated Producer  (lead)" in human and "QA sign-off" in human


def test_template_show_of_an_unknown_template_exits_3(ok: Run, run: Run) -> None:
    ok("init", "--admin", "ana")
    result = run("template", "show", "no-such")
    assert result.exit_code == 3
    assert "Error: there is no template 'no-such'" in result.stderr


def test_template_validate_accepts_a_good_file(ok: Run) -> None:
    result = ok("template", "validate", str(builtin_paths()["large-agency"]))
    assert result.output.strip() == "large-agency: 3 roles, 7 phases, 4 gates — valid"


def test_template_validate_lists_every_problem_with_its_line_and_exits_2(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    good = builtin_paths()["team-based"].read_text(encoding="utf-8")
    bad.write_text(good.replace("lead: integrated_producer", "lead: nobody\nsurprise: 1"), encoding="utf-8")
    result = run("template", "validate", str(bad))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: 2 problems in the template:"
    assert any(f"{bad}:" in line and "surprise" in line for line in lines)
    assert any(f"{bad}:" in line and "nobody" in line for line in lines)
    as_json = run("template", "validate", str(bad), as_json=True)
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["valid"] is False
    # The problems once (issue 21): in the answer on stdout; stderr's error document says where they are.
    assert len(json.loads(as_json.stdout)["problems"]) == 2
    error = json.loads(as_json.stderr)["error"]
    assert "problems" not in error and "surprise" not in as_json.stderr
    assert (error["kind"], error["message"]) == ("bad_input", "2 problems in the template (listed on stdout)")


def test_template_validate_of_a_missing_file_exits_2_without_a_traceback(run: Run, tmp_path: Path) -> None:
    result = run("template", "validate", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2
    assert "cannot read the file" in result.stderr
    assert "Traceback" not in result.output


def test_publish_a_changed_copy_makes_v2_and_identical_text_publishes_nothing(ok: Run,
                                                                              tmp_path: Path) -> None:
    ok("init", "--admin", "ana")
    changed = tmp_path / "large-agency.yaml"
    text = builtin_paths()["large-agency"].read_text(encoding="utf-8")
    changed.write_text(text.replace("title: Planning", "title: Planning & Scoping"), encoding="utf-8")
    assert ok("template", "publish", str(changed)).output.strip() == "published large-agency v2"
    again = ok("template", "publish", str(changed)).output.strip()
    assert again == "large-agency v2 unchanged: identical text publishes nothing"
    assert json.loads(ok("template", "publish", str(changed), as_json=True).stdout)["published"] is False
    assert "Planning & Scoping" in ok("template", "show", "large-agency").output
    assert "Planning & Scoping" not in ok("template", "show", "large-agency", "--version", "1").output


def test_publish_by_a_non_admin_exits_4(ok: Run, run: Run) -> None:
    ok("init", "--admin", "ana")
    result = run("template", "publish", str(builtin_paths()["team-based"]), actor="mallory")
    assert result.exit_code == 4
    assert "Error: mallory may not publish templates" in result.stderr


@pytest.mark.parametrize("fmt, first", [("mermaid", "stateDiagram-v2"), ("dot", 'digraph "large-agency" {')])
def test_template_diagram_from_the_database_and_from_a_file(ok: Run, fmt: str, first: str) -> None:
    ok("init", "--admin", "ana")
    from_db = ok("template", "diagram", "large-agency", "--format", fmt).output
    from_file = ok("template", "diagram", str(builtin_paths()["large-agency"]), "--format", fmt).output
    assert from_db.splitlines()[0] == first
    assert from_db == from_file


# -- grants --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_grant_and_revoke(acme: Run, run: Run) -> None:
    assert acme("grant", "olga", "auditor").output.strip() == "olga granted auditor"
    assert acme("audit", "verify", actor="olga").exit_code == 0
    assert acme("revoke", "olga", "auditor").output.strip() == "olga's auditor grant revoked"
    assert run("audit", "verify", actor="olga").exit_code == 4
    assert run("grant", "olga", "root").exit_code == 2  # click's own Choice
    assert run("grant", "olga", "admin", actor="ben").exit_code == 4


# -- projects ------------------------------------------------------------------------------------------


def test_project_status_json_carries_the_contract_fields(acme: Run, run: Run) -> None:
    acme("task", "done", "ACME-1", "head_of_technology", actor="ben")
    acme("approve", "ACME-1", "head_of_technology", actor="ben")
    st = _status(run)
    for key in ("code", "template", "template_version", "phase", "round", "status", "can_advance", "blockers",
                "tasks", "gate", "team"):
        assert key in st, key
    assert (st["code"], st["template"], st["template_version"]) == ("ACME-1", "large-agency", 1)
    assert (st["phase"], st["round"], st["status"]) == ("client_kickoff", 1, "active")
    assert st["can_advance"] is False
    assert "waiting for the Project Manager's approval: cy" in st["blockers"]
    hot = next(t for t in st["tasks"] if t["role"] == "head_of_technology")
    assert (hot["task"], hot["done"], hot["by"]) == ("Client Kick-Off", True, "ben")
    assert st["gate"]["satisfied"] is False
    assert st["gate"]["missing"] == ["integrated_producer", "project_manager"]
    assert [(a["role"], a["person"]) for a in st["gate"]["approvals"]] == [("head_of_technology", "ben")]
    assert st["team"] == {role: [person] for role, person in LARGE_TEAM.items()}


@pytest.mark.slow
def test_project_status_for_people_shows_tasks_gate_blockers_team(acme: Run) -> None:
    acme("task", "done", "ACME-1", "head_of_technology", actor="ben")
    acme("approve", "ACME-1", "head_of_technology", actor="ben")
    out = acme("project", "status", "ACME-1").output
    lines = out.splitlines()
    assert lines[0] == "ACME-1 — Spring launch (client: Acme)"
    assert "large-agency v1" in lines[1] and "1/7 Client Kick-Off" in lines[1] and "round 1" in lines[1]
    assert any(line.split()[:4] == ["Head", "of", "Technology", "Client"] and "✓" in line and "ben" in line
               for line in lines)
    assert "Gate: Client kick-off sign-off — all of 3, four-eyes — not satisfied" in out
    assert "  - waiting for the Project Manager's approval: cy" in out
    assert "Integrated Producer (lead)" in out
    assert lines[-1] == "can advance: no"


def test_project_list_is_a_board_with_filters(acme: Run) -> None:
    acme("project", "create", "ZED-2", "--template", "team-based")
    board = acme("project", "list").output.splitlines()
    assert board[0].split() == ["CODE", "TEMPLATE", "PHASE", "STATUS", "DUE", "WAITING", "ON"]
    assert board[1].startswith("ACME-1")
    assert "Client Kick-Off (round 1)" in board[1] and "waiting for" in board[1]
    only = json.loads(acme("project", "list", "--template", "team-based", as_json=True).stdout)
    assert [p["code"] for p in only] == ["ZED-2"]
    assert json.loads(acme("project", "list", "--status", "completed", as_json=True).stdout) == []
    assert "ACME-1" not in acme("project", "list", actor="stranger").output


def test_a_refused_advance_exits_1_with_the_blockers_on_stderr(acme: Run, run: Run) -> None:
    result = run("advance", "ACME-1")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: ACME-1 cannot leave Client Kick-Off yet:"
    assert "  - waiting for the Head of Technology's approval: ben" in lines
    assert "  - waiting for the Project Manager's task 'Client Kick-Off': cy" in lines
    assert result.stdout == ""


@pytest.mark.slow
def test_a_non_holder_marking_a_task_done_exits_4(acme: Run, run: Run) -> None:
    result = run("task", "done", "ACME-1", "head_of_technology", actor="cy")
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: cy does not hold the Head of Technology role on ACME-1")


@pytest.mark.slow
def test_four_eyes_refusal_exits_1(acme: Run, run: Run) -> None:
    acme("project", "assign", "ACME-1", "project_manager", "ben")
    acme("approve", "ACME-1", "head_of_technology", actor="ben")
    result = run("approve", "ACME-1", "project_manager", actor="ben")
    assert result.exit_code == 1
    assert "four-eyes" in result.stderr


@pytest.mark.slow
def test_unknown_project_exits_3(acme: Run, run: Run) -> None:
    for args in (("project", "status", "NOPE-9"), ("advance", "NOPE-9"), ("history", "NOPE-9")):
        result = run(*args)
        assert result.exit_code == 3, args
        assert result.stderr == "Error: there is no project NOPE-9\n"


@pytest.mark.slow
def test_unknown_role_exits_3(acme: Run, run: Run) -> None:
    result = run("task", "done", "ACME-1", "janitor")
    assert result.exit_code == 3
    assert "has no role 'janitor'" in result.stderr


@pytest.mark.slow
def test_duplicate_create_exits_5(acme: Run, run: Run) -> None:
    result = run("project", "create", "ACME-1", "--template", "large-agency")
    assert result.exit_code == 5
    assert result.stderr == "Error: project ACME-1 exists already\n"


def test_reject_without_a_reason_is_a_usage_error(acme: Run, run: Run) -> None:
    result = run("reject", "ACME-1", "head_of_technology", actor="ben")
    assert result.exit_code == 2
    assert "--reason" in result.output


@pytest.mark.slow
def test_reject_sends_the_project_back_and_starts_a_new_round(acme: Run, run: Run) -> None:
    definition = load_file(builtin_paths()["large-agency"])
    for phase in definition.phases[:-1]:
        _finish_phase(acme, "ACME-1", LARGE_TEAM, phase)
        acme("advance", "ACME-1")
    out = acme("reject", "ACME-1", "project_manager", "--reason", "banner broken on iOS", actor="cy").output
    assert out.strip() == "ACME-1 sent back to Execution (round 2): banner broken on iOS"
    st = _status(run)
    assert (st["phase"], st["round"]) == ("execution", 2)
    assert not any(t["done"] for t in st["tasks"])


def test_write_commands_confirm_in_one_line_or_print_the_event_as_json(acme: Run) -> None:
    out = acme("task", "done", "ACME-1", "head_of_technology", "--note", "all good", actor="ben").output
    assert out == "ACME-1: Head of Technology's task 'Client Kick-Off' done by ben\n"
    event = json.loads(acme("approve", "ACME-1", "head_of_technology", actor="ben", as_json=True).stdout)
    assert event["action"] == "approve" and event["actor"] == "ben" and event["project"] == "ACME-1"


@pytest.mark.slow
def test_a_repeated_request_id_applies_the_command_once(acme: Run) -> None:
    args = ("task", "done", "ACME-1", "project_manager", "--request-id", "r-1")
    first = json.loads(acme(*args, actor="cy", as_json=True).stdout)
    second = json.loads(acme(*args, actor="cy", as_json=True).stdout)
    assert first == second
    assert len(acme("history", "ACME-1", as_json=True).stdout.splitlines()) == 5


# -- hold, resume, cancel ------------------------------------------------------------------------------


@pytest.mark.slow
def test_hold_resume_and_cancel_by_the_lead(acme: Run, run: Run) -> None:
    held = acme("hold", "ACME-1", "--reason", "client budget review").output
    assert held.strip() == "ACME-1 put on hold in Client Kick-Off: client budget review"
    assert _status(run)["status"] == "on_hold"
    refused = run("advance", "ACME-1")
    assert refused.exit_code == 1
    assert "on hold" in refused.stderr
    assert run("task", "done", "ACME-1", "head_of_technology", actor="ben").exit_code == 1
    assert acme("resume", "ACME-1").output.strip() == "ACME-1 resumed in Client Kick-Off (round 1)"
    assert _status(run)["status"] == "active"
    cancelled = acme("cancel", "ACME-1", "--reason", "client withdrew").output.strip()
    assert cancelled == "ACME-1 cancelled: client withdrew"
    assert _status(run)["status"] == "cancelled"
    assert run("resume", "ACME-1").exit_code == 1


@pytest.mark.slow
def test_only_the_lead_may_hold(acme: Run, run: Run) -> None:
    result = run("hold", "ACME-1", "--reason", "why not", actor="ben")
    assert result.exit_code == 4
    assert "only the Integrated Producer may hold ACME-1" in result.stderr


def test_hold_and_cancel_need_a_reason(acme: Run, run: Run) -> None:
    assert run("hold", "ACME-1").exit_code == 2
    assert run("cancel", "ACME-1").exit_code == 2
    blank = run("cancel", "ACME-1", "--reason", "  ")
    assert blank.exit_code == 2
    assert "the reason is required" in blank.stderr


# -- the whole walk ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.slow
def test_a_scripted_walk_takes_each_built_in_model_from_creation_to_completed(ok: Run, run: Run,
                                                                              model: str) -> None:
    definition = load_file(builtin_paths()[model])
    team = {role: f"person{i}" for i, role in enumerate(definition.role_keys)}
    lead = team[definition.lead]
    ok("init", "--admin", "admin")
    ok("project", "create", "WALK-1", "--template", model, actor="admin")
    for role, person in team.items():
        ok("project", "assign", "WALK-1", role, person, actor="admin")
    for i, phase in enumerate(definition.phases):
        assert _status(run, "WALK-1", "admin")["phase"] == phase.key
        _finish_phase(ok, "WALK-1", team, phase)
        assert _status(run, "WALK-1", "admin")["can_advance"] is True
        out = ok("advance", "WALK-1", actor=lead).output.strip()
        if i + 1 < len(definition.phases):
            assert out == f"WALK-1 advanced to {definition.phases[i + 1].title} (round 1)"
        else:
            assert out == "WALK-1 completed"
    final = _status(run, "WALK-1", "admin")
    assert final["status"] == "completed" and final["can_advance"] is False
    assert run("advance", "WALK-1", actor=lead).exit_code == 1
    assert ok("audit", "verify", "WALK-1", actor="admin").output.startswith("verified ")


# -- history and audit ---------------------------------------------------------------------------------


def test_history_json_is_json_lines_with_the_contract_fields(acme: Run) -> None:
    acme("task", "done", "ACME-1", "head_of_technology", actor="ben")
    lines = acme("history", "ACME-1", as_json=True).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    for event in events:
        for key in ("seq", "at", "actor", "action", "project", "data", "prev_hash", "hash"):
            assert key in event, key
        assert event["at"].endswith("Z") and event["project"] == "ACME-1"
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    assert [e["action"] for e in events] == ["create", "assign", "assign", "assign", "task.done"]


def test_history_for_people_has_one_line_per_event_and_filters(acme: Run) -> None:
    acme("task", "done", "ACME-1", "head_of_technology", "--note", "two\nlines", actor="ben")
    lines = acme("history", "ACME-1").output.splitlines()
    assert len(lines) == 5
    assert lines[-1].split()[0] == "5" and "ben" in lines[-1] and "task.done" in lines[-1]
    assert "two lines" in lines[-1]
    only = acme("history", "ACME-1", "--actor", "ben").output.splitlines()
    assert len(only) == 1
    assert len(acme("history", "ACME-1", "--action", "assign").output.splitlines()) == 3
    assert len(acme("history", "ACME-1", "--last", "2").output.splitlines()) == 2
    assert acme("history", "ACME-1", "--since", "2999-01-01").output.strip() == "no events"


def test_history_with_a_bad_time_exits_2(acme: Run, run: Run) -> None:
    result = run("history", "ACME-1", "--since", "yesterday")
    assert result.exit_code == 2
    assert "is not an ISO 8601 time" in result.stderr


def test_a_stranger_may_not_read_a_project(acme: Run, run: Run) -> None:
    assert run("project", "status", "ACME-1", actor="stranger").exit_code == 4
    assert run("history", "ACME-1", actor="stranger").exit_code == 4


def test_audit_verify_exits_0_and_counts_events(acme: Run) -> None:
    out = acme("audit", "verify").output.strip()
    assert out.startswith("verified ") and out.endswith(" chains; the state tables match their replay")
    report = json.loads(acme("audit", "verify", "ACME-1", as_json=True).stdout)
    assert report["ok"] is True and report["events_checked"] == 4 and report["state_checked"] is True


@pytest.mark.slow
def test_audit_verify_names_the_first_broken_event_and_exits_6(acme: Run, run: Run, tmp_path: Path) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "cli.db")
    try:  # someone with write access to the file drops the append-only guards and edits an event
        for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f'DROP TRIGGER "{trigger}"')
        db.execute("UPDATE events SET actor = 'mallory' WHERE chain = 'ACME-1' AND seq = 2")
        db.commit()
    finally:
        db.close()
    result = run("audit", "verify")
    assert result.exit_code == 6
    assert result.stderr.startswith("Error: audit verification failed: project ACME-1, event 2")
    as_json = run("audit", "verify", as_json=True)
    assert as_json.exit_code == 6
    assert json.loads(as_json.stdout)["ok"] is False


# -- completion ----------------------------------------------------------------------------------------


def _complete(words: str, cword: int) -> list[str]:
    env = {"_PHASEGATE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    result = CliRunner().invoke(cli, [], prog_name="phasegate", env=env)
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize("transport", ["direct"])  # completion reads a database only
@pytest.mark.slow
def test_completion_offers_project_codes_template_keys_and_roles(acme: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    assert _complete(f"phasegate --db {db} project status AC", 5) == ["ACME-1"]
    assert _complete(f"phasegate --db {db} project create X --template ", 7) == list(sorted(MODELS))
    assert _complete(f"phasegate --db {db} task done ACME-1 h", 6) == ["head_of_technology"]
    everything = _complete(f"phasegate --db {db} approve NOPE-1 ", 5)
    assert {"integrated_producer", "scrum_master", "team"} <= set(everything)


def test_completion_never_fails_and_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    assert _complete(f"phasegate --db sqlite:///{missing} project status ", 5) == []
    assert not missing.exists()
    assert _complete("phasegate --db not-a-url:// advance ", 4) == []


def test_completion_on_an_empty_database_completes_nothing_and_creates_no_tables(tmp_path: Path) -> None:
    """Completion used to migrate an empty file and publish the built-in templates into it."""
    import sqlite3

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # an existing, empty SQLite file
    before = empty.read_bytes()
    assert _complete(f"phasegate --db sqlite:///{empty} project status ", 5) == []
    assert _complete(f"phasegate --db sqlite:///{empty} project create X --template ", 7) == []
    assert empty.read_bytes() == before, "not a byte written"


# -- output safety -------------------------------------------------------------------------------------


def test_terminal_escapes_never_reach_the_terminal() -> None:
    assert safe("ok\x1b[31mred\x9b2J\u202eevil") == "ok\\x1b[31mred\\x9b2J\\u202eevil"
    assert safe("Kick-Off ✓ · — café") == "Kick-Off ✓ · — café"
    encoded = json_text({"note": "\x1b]0;owned\x07 \u202e \U000e0041 ok é"})
    assert "\x1b" not in encoded and "\u202e" not in encoded and "\U000e0041" not in encoded
    assert json.loads(encoded) == {"note": "\x1b]0;owned\x07 \u202e \U000e0041 ok é"}


def test_a_control_character_in_input_is_refused_with_a_visible_escape(acme: Run, run: Run) -> None:
    result = run("hold", "ACME-1", "--reason", "x\x1b[2Jy")
    assert result.exit_code == 2
    assert "\x1b" not in result.output
    assert "control character" in result.stderr


# -- start-up: what the CLI imports ------------------------------------------------------------------


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_importing_the_cli_loads_only_click_the_vocabulary_the_input_rules_and_workflow_errors() -> None:
    code = (
        "import sys; before = set(sys.modules); import workflow.cli; "
        "new = {m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names}; "
        "print(sorted(m for m in new if not m.startswith(('click', 'workflow.cli'))))"
    )
    # workflow.domain.limits: pure data, the defaults `serve --help` shows (declared once there);
    # workflow.settings: the PHASEGATE_* variables the global options read (stdlib only).
    assert _python(code) == str(sorted(["workflow", "workflow.domain", "workflow.domain.inputs",
                                        "workflow.domain.limits", "workflow.domain.vocabulary",
                                        "workflow.errors", "workflow.settings"]))


@pytest.mark.parametrize("argv", [["--help"],
                                  ["template", "validate", "workflow/definitions/large-agency.yaml"],
                                  ["template", "diagram", "workflow/definitions/team-based.yaml"]])
def test_commands_without_a_database_never_import_sqlalchemy(argv: list[str]) -> None:
    code = (
        f"import sys; sys.argv = ['phasegate', *{argv!r}]\n"
        "from workflow.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print('sqlalchemy' in sys.modules)"
    )
    assert _python(code) == "False"


# -- the demo and the installed command --------------------------------------------------------------


@pytest.mark.parametrize("transport", ["direct"])  # the demo makes its own database
@pytest.mark.slow
def test_demo_runs_on_its_own_throw_away_database(run: Run, tmp_path: Path) -> None:
    pytest.importorskip("workflow.demo")
    kept = tmp_path / "demo.db"
    result = run("demo", "--keep", str(kept))
    assert result.exit_code == 0, result.output
    assert result.output.strip()
    assert kept.exists()


@pytest.mark.slow
def test_the_installed_command_runs_end_to_end(tmp_path: Path) -> None:
    """As a user would: the real `phasegate` (or `python -m workflow.cli`) in a subprocess."""
    exe = shutil.which("phasegate")
    command = [exe] if exe else [sys.executable, "-m", "workflow.cli"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PHASEGATE_DB": f"sqlite:///{tmp_path}/e2e.db",
           "PHASEGATE_USER": "ana"}

    def phasegate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120, check=False)

    assert phasegate("init", "--admin", "ana").returncode == 0
    assert phasegate("project", "create", "E2E-1", "--template", "team-based").returncode == 0
    assert phasegate("project", "assign", "E2E-1", "integrated_producer", "ana").returncode == 0
    refused = phasegate("advance", "E2E-1")
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: E2E-1 cannot leave Client Kick-Off yet:")
    assert "Traceback" not in refused.stderr
    status = json.loads(phasegate("--json", "project", "status", "E2E-1").stdout)
    assert status["code"] == "E2E-1" and status["team"]["integrated_producer"] == ["ana"]
    assert phasegate("--version").stdout.startswith("phasegate ")
    assert phasegate("audit", "verify").returncode == 0


@pytest.mark.parametrize("args", [
    ["history", "P-1", "--action", "nonsense"],
    ["history", "P-1", "--phase", "bogus"],
    ["project", "list", "--phase", "bogus"],
    ["project", "list", "--template", "bogus"],
    ["project", "list", "--status", "bogus"],
])
def test_unknown_actions_phases_templates_and_statuses_are_bad_input_with_the_choices(
    run: Run, ok: Run, args: list[str]
) -> None:
    ok("init", "--admin", "ana")
    ok("project", "create", "P-1", "--template", "team-based")
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "bogus" in result.output or "nonsense" in result.output
    valid = {"--action": "task.done", "--phase": "client_kickoff", "--template": "team-based",
             "--status": "on_hold"}[args[-2]]
    assert valid in result.output, "the valid choices are listed"


@pytest.mark.parametrize("args", [
    ["history", "ACME-1", "--last", "99999999999999999999999"],
    ["template", "show", "large-agency", "--version", "99999999999999999999999"],
    ["audit", "verify", "--jobs", "99999999999999999999999"],
])
def test_numbers_beyond_what_the_store_holds_are_refused_by_the_option(
    acme: Run, run: Run, args: list[str]
) -> None:
    """`--last 99999999999999999999999` used to reach the database: "datatype mismatch"."""
    result = run(*args)
    assert result.exit_code == 2
    assert "is not in the range" in result.stderr and "datatype" not in result.stderr


@pytest.mark.slow
def test_the_api_bounds_counts_too(tmp_path: Path) -> None:
    from workflow import Engine
    from workflow.errors import UsageError

    with Engine(f"sqlite:///{tmp_path}/n.db") as engine:
        engine.init(admin="ana")
        engine.create_project("N-1", template="team-based", actor="ana")
        with pytest.raises(UsageError, match="from 1 to 1,000,000,000"):
            engine.history("N-1", last=10**23)
        with pytest.raises(UsageError, match="the template version"):
            engine.template("team-based", 10**23)


def test_the_board_names_who_a_project_waits_on_and_who_can_resume_a_held_one(acme: Run) -> None:
    """WAITING ON names people (not a sentence cut mid-word); a project on hold waits on the people who
    can resume it, in the table and in --json (issue 21, item 12)."""
    row = acme("project", "list").output.splitlines()[1]
    assert row.rstrip().endswith("waiting for ana (task, sign-off), ben (task, sign-off), cy (task, sign-off)"), row
    acme("hold", "ACME-1", "--reason", "the client is re-scoping")
    held = acme("project", "list").output.splitlines()[1]
    assert "on_hold" in held and held.rstrip().endswith("waiting for ana (to resume)"), held
    (summary,) = json.loads(acme("project", "list", as_json=True).stdout)
    assert summary["waiting"] == [{"kind": "resume", "role": "integrated_producer",
                                   "role_title": "Integrated Producer", "people": ["ana"],
                                   "title": "resume the project"}]
    assert summary["waiting_on"] == [
        "the project is on hold: the Integrated Producer can resume it (ana)"]  # the sentence stays


def test_status_names_the_same_people_missing_as_the_blockers_when_one_holds_two_roles(acme: Run) -> None:
    """ana holds Integrated Producer and Project Manager; having signed as the first, only cy can sign as
    the second: "missing" said "Project Manager ana, cy" while Blockers said cy (issue 21, LOW)."""
    acme("project", "assign", "ACME-1", "project_manager", "ana")
    for role, person in LARGE_TEAM.items():
        acme("task", "done", "ACME-1", role, actor=person)
    acme("approve", "ACME-1", "integrated_producer", actor="ana")
    acme("approve", "ACME-1", "head_of_technology", actor="ben")
    out = acme("project", "status", "ACME-1").output
    missing = out[out.index("  missing:"):out.index("Blockers:")].splitlines()[1]
    assert missing.split() == ["Project", "Manager", "cy", "(ana", "cannot:", "signed", "as", "Integrated",
                               "Producer)"], missing
    assert "  - waiting for the Project Manager's approval: cy" in out
