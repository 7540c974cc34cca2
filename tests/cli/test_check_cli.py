"""`phasegate project check` and `template check --team` at the command line, and the warnings of a
staffing change (issue 26 part 3): exit 0 when every gate can pass, 7 (kind `unsignable`) when one
cannot, on the database and through a server alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli_runs import TRANSPORTS, cli_runner, cli_session

from workflow import Engine
from workflow.domain.templates.loader import builtin_paths

DIGITAL = str(builtin_paths()["digital-agency"])
SHORT = ("'QA sign-off' needs 2 distinct people for Tech & Creative Leads and Scrum Master; only ivy holds both: "
         "assign another Scrum Master")


def _database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/c.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.create_project("D-1", template="digital-agency", actor="ana",
                              team={"integrated_producer": ["ana"], "tech_creative_leads": ["ivy"]})
    return url


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_project_check_exits_7_naming_each_gate_and_its_fix_then_0_once_fixed(tmp_path: Path,
                                                                             transport: str) -> None:
    with cli_session(_database(tmp_path), transport) as run:
        assigned = run("project", "assign", "D-1", "scrum_master", "ivy")
        assert assigned.exit_code == 0, assigned.output
        assert f"Warning: {SHORT}" in assigned.stderr  # a warning, not a refusal
        checked = run("project", "check", "D-1")
        assert checked.exit_code == 7, checked.output
        assert f"cannot pass: {SHORT}" in checked.stdout
        assert "ok: 'Client kick-off sign-off' (Client Kick-Off) can pass" in checked.stdout
        assert "Error: 2 of the 4 remaining gates of D-1 cannot be signed" in checked.stderr
        as_json = run("project", "check", "D-1", as_json=True)
        assert as_json.exit_code == 7
        report = json.loads(as_json.stdout)
        assert report["ok"] is False and report["gates"][3]["fixes"][0]["assign"] == "scrum_master"
        assert json.loads(as_json.stderr)["error"]["kind"] == "unsignable"
        fixed = run("project", "assign", "D-1", "scrum_master", "sam", as_json=True)
        assert json.loads(fixed.stdout)["warnings"] == []
        assert run("project", "check", "D-1").exit_code == 0


def test_project_create_with_a_team_file_warns_of_the_gates_it_cannot_sign(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
    team = tmp_path / "team.yaml"
    team.write_text("integrated_producer: [ana]\ntech_creative_leads: [ivy]\nscrum_master: [ivy]\n")
    run = cli_runner(url)
    made = run("project", "create", "D-9", "--template", "digital-agency", "--team", str(team))
    assert made.exit_code == 0, made.output
    assert made.stderr.count("Warning: ") == 2 and SHORT in made.stderr
    body = json.loads(run("project", "create", "D-8", "--template", "digital-agency", "--team", str(team),
                          as_json=True).stdout)
    assert body["action"] == "create" and len(body["warnings"]) == 2


def test_template_check_reads_a_staffing_plan_before_any_project_exists(tmp_path: Path) -> None:
    run = cli_runner(f"sqlite:///{tmp_path}/unused.db")
    team = tmp_path / "team.yaml"
    team.write_text("integrated_producer: [ana]\ntech_creative_leads: [ivy]\nscrum_master: [ivy]\n")
    short = run("template", "check", DIGITAL, "--team", str(team))
    assert short.exit_code == 7 and f"cannot pass: {SHORT}" in short.stdout
    team.write_text("integrated_producer: [ana]\ntech_creative_leads: [ivy]\nscrum_master: [sam]\n")
    assert run("template", "check", DIGITAL, "--team", str(team)).exit_code == 0
    assert not (tmp_path / "unused.db").exists()  # a plan needs no database


def test_a_bad_team_file_is_refused_with_every_problem_and_its_line(tmp_path: Path) -> None:
    run = cli_runner(f"sqlite:///{tmp_path}/unused.db")
    team = tmp_path / "team.yaml"
    team.write_text("integrated_producer: [ana]\ncook: [ben]\nscrum_master: [ivy, 'Not A Login', ivy]\n")
    bad = run("template", "check", DIGITAL, "--team", str(team))
    assert bad.exit_code == 2, bad.output
    assert f"{team}:2:1: the template digital-agency has no role 'cook'" in bad.stderr
    assert f"{team}:3:21: the name 'Not A Login' is not a login name" in bad.stderr
    assert f"{team}:3:36: ivy is listed twice for scrum_master" in bad.stderr
    team.write_text("- ana\n- ben\n")
    assert "a team file is a mapping of role key" in run("template", "check", DIGITAL, "--team", str(team)).stderr
