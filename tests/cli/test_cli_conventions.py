"""What a new user tripped on (issue 12's rough edges), each pinned by the behaviour it should have."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli_runs import Run, cli_session, must_succeed

from workflow import Engine
from workflow.errors import AuditBroken, UsageError


@pytest.fixture
def run(tmp_path: Path, transport: str) -> Iterator[Run]:
    """On the database, and through a server on it (tests/support/cli_runs.py)."""
    with cli_session(f"sqlite:///{tmp_path}/edges.db", transport) as invoke:
        yield invoke


@pytest.fixture
def ok(run: Run) -> Run:
    ok = must_succeed(run)
    ok("init", "--admin", "ana")
    ok("project", "create", "P-1", "--template", "digital-agency")
    for role, person in (
        ("integrated_producer", "ana"),
        ("tech_creative_leads", "tia"),
        ("scrum_master", "sam"),
    ):
        ok("project", "assign", "P-1", role, person)
    return ok


@pytest.mark.slow
def test_json_may_follow_the_command(ok: Run) -> None:
    status = json.loads(ok("project", "status", "P-1", "--json").output)
    assert status["code"] == "P-1"
    assert json.loads(ok("template", "list", "--json").output)[0]["key"] == "digital-agency"


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.slow
def test_under_json_an_error_is_one_json_document_on_stderr(ok: Run, run: Run, where: str) -> None:
    args = ["advance", "P-1"]
    result = run("--json", *args) if where == "before" else run(*args, "--json")
    assert result.exit_code == 1
    error = json.loads(result.stderr)["error"]
    assert error["kind"] == "refused" and error["message"].startswith("P-1 cannot leave")
    assert any("Tech & Creative Leads' task" in b for b in error["blockers"])
    assert result.stdout == ""
    missing = run("project", "status", "--json")  # click's own usage error
    assert missing.exit_code == 2
    assert json.loads(missing.stderr)["error"]["kind"] == "bad_input"


@pytest.mark.parametrize("name", ["bad person", "<b>bob</b>", "Ana", "_x", "a" * 65, "ana\u202e"])
@pytest.mark.slow
def test_person_names_follow_the_account_rule(ok: Run, run: Run, name: str) -> None:
    result = run("project", "assign", "P-1", "scrum_master", name)
    assert result.exit_code == 2
    assert "is not a login name: use 1-64 lowercase letters" in result.stderr


@pytest.mark.slow
def test_a_plural_role_title_takes_a_plain_apostrophe(ok: Run) -> None:
    status = json.loads(ok("--json", "project", "status", "P-1").output)
    assert any(b.startswith("waiting for the Tech & Creative Leads' task") for b in status["blockers"])
    assert not any("Leads's" in b for b in status["blockers"])


def test_template_show_names_the_phase_a_rejection_goes_back_to_by_its_title(ok: Run) -> None:
    shown = ok("template", "show", "large-agency").output
    assert "a rejection goes back to Execution" in shown
    assert "goes back to execution" not in shown  # the key


def test_grant_list_shows_who_holds_admin_and_auditor_to_admins_and_auditors(ok: Run, run: Run) -> None:
    ok("grant", "olga", "auditor")
    assert ok("grant", "list").output.splitlines() == ["admin: ana", "auditor: olga"]
    assert json.loads(ok("--json", "grant", "list", actor="olga").output) == {
        "admin": ["ana"],
        "auditor": ["olga"],
    }
    assert run("grant", "list", actor="tia").exit_code == 4
    assert run("grant", "olga").exit_code == 2  # a person without a grant is a usage error


@pytest.mark.slow
def test_status_shows_the_hold_reason_the_last_rejection_and_task_notes(ok: Run) -> None:
    ok("task", "done", "P-1", "integrated_producer", "--note", "brief in the wiki")
    ok("reject", "P-1", "integrated_producer", "--reason", "budget missing")
    ok("hold", "P-1", "--reason", "client on holiday")
    shown = ok("project", "status", "P-1").output
    assert "On hold since" in shown and "by ana: client on holiday" in shown
    assert "Last rejection:" in shown
    assert "by ana as Integrated Producer in Client Kick-Off round 1: budget missing" in shown
    status = json.loads(ok("--json", "project", "status", "P-1").output)
    assert status["hold"]["reason"] == "client on holiday"
    assert status["last_rejection"]["reason"] == "budget missing"
    ok("resume", "P-1")
    ok("task", "done", "P-1", "integrated_producer", "--note", "brief in the wiki")
    assert "brief in the wiki" in ok("project", "status", "P-1").output
    assert json.loads(ok("--json", "project", "status", "P-1").output)["hold"] is None


def test_a_closed_project_shows_no_blockers_section(ok: Run) -> None:
    ok("cancel", "P-1", "--reason", "client withdrew")
    shown = ok("project", "status", "P-1").output
    assert "Blockers:" not in shown and "cancelled" in shown


def test_history_actor_filters_by_actor_and_reader_says_who_reads(tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path}/h.db") as engine:
        engine.init(admin="ana")
        engine.create_project("H-1", template="team-based", actor="ana")
        engine.assign("H-1", "integrated_producer", "ana", actor="ana")
        engine.assign("H-1", "team", "tom", actor="ana")
        engine.complete_task("H-1", "team", actor="tom")
        mine = engine.history("H-1", reader="tom", actor="tom")
        assert [e.action for e in mine] == ["task.done"]
        assert len(engine.history("H-1", reader="tom")) == 4
        with pytest.warns(DeprecationWarning, match="now history\\(actor=...\\)"):
            assert [e.actor for e in engine.history("H-1", by="tom")] == ["tom"]
        with pytest.warns(DeprecationWarning, match="reader="):
            engine.status("H-1", actor="tom")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            engine.status("H-1", reader="tom")


def test_verify_audit_can_raise_instead_of_returning_a_broken_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.create_project("V-1", template="team-based", actor="ana")
        assert engine.verify_audit(raise_on_broken=True).ok
        with engine.store.connect() as conn:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_update")
            conn.exec_driver_sql("UPDATE events SET actor = 'mallory' WHERE chain = 'V-1' AND seq = 1")
            conn.commit()
        assert not engine.verify_audit().ok
        with pytest.raises(AuditBroken, match="project V-1, event 1: edited"):
            engine.verify_audit(raise_on_broken=True)


def test_unknown_filters_raise_usage_errors_in_the_api_too(tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path}/f.db") as engine:
        engine.init(admin="ana")
        engine.create_project("F-1", template="team-based", actor="ana")
        with pytest.raises(UsageError, match="use one of: create, assign"):
            engine.history("F-1", action="nonsense")
        with pytest.raises(UsageError, match="its phases: client_kickoff"):
            engine.history("F-1", phase="bogus")
