"""`audit verify` replays every chain and names the first state row that is not what the history says.

The hash chains cover only the events; the state tables (projects, assignments, tasks,
approvals, grants, templates) are a cache of them that commands trust. Every test here
edits the state the way someone with a SQL client would (the state tables have no
triggers) and expects `audit verify` to name the table, the field, the stored value and
what the history says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text
from support.cli_runs import cli_runner
from support.tampering import drop_triggers, execute, two_rounds_on_hold

from workflow import Engine
from workflow.domain.audit.events import SYSTEM_CHAIN, canonical_json, event_hash


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        two_rounds_on_hold(e)
        yield e


@pytest.fixture
def sql(db_url: str) -> Iterator[sqlalchemy.Engine]:
    client = sqlalchemy.create_engine(db_url)
    yield client
    client.dispose()


def difference(engine: Engine, **kwargs: Any) -> tuple[str, int, str, str]:
    report = engine.verify_audit(**kwargs)
    assert not report.ok and report.first_broken is not None, report
    b = report.first_broken
    return b.chain, b.seq, b.problem, b.detail


def state_differs(engine: Engine, **kwargs: Any) -> str:
    """The detail of the first difference, which must be a state difference in P-1 after event 11."""
    chain, seq, problem, detail = difference(engine, **kwargs)
    assert (chain, seq, problem) == ("P-1", 11, "state differs"), detail
    return detail


def test_an_untouched_database_replays_to_its_state(engine: Engine) -> None:
    report = engine.verify_audit()
    assert report.ok and report.state_checked
    assert report.to_dict()["state_checked"] is True
    assert engine.verify_audit(code="P-1").state_checked


# -- the project row ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "detail"),
    [
        ("phase = 'production_kickoff'", "projects.phase is 'production_kickoff' but the history says 'client_kickoff'"),
        ("status = 'active'", "projects.status is 'active' but the history says 'on_hold'"),
        ("round = 1", "projects.round is '1' but the history says '2'"),
        ("name = 'Autumn launch'", "projects.name is 'Autumn launch' but the history says 'Spring launch'"),
        ("client = NULL", "projects.client is 'None' but the history says 'Acme'"),
        ("rounds = replace(rounds, '2', '1')",
         "projects.rounds is '{\"client_kickoff\":1}' but the history says '{\"client_kickoff\":2}'"),
        ("hold_seq = NULL", "projects.hold_seq is 'None' but the history says '11'"),
        ("rejection_seq = 7", "projects.rejection_seq is '7' but the history says '8'"),
        ("created_at = '2020-01-01T00:00:00.000000Z'",
         "projects.created_at is '2020-01-01T00:00:00.000000Z' but the history says"),
    ],
    ids=["phase", "status", "round", "name", "client", "rounds", "hold_seq", "rejection_seq", "created_at"],
)
def test_an_edited_project_field_is_named_with_the_stored_value_and_the_history(
    engine: Engine, sql: sqlalchemy.Engine, assignment: str, detail: str
) -> None:
    execute(sql, f"UPDATE projects SET {assignment} WHERE code = 'P-1'")
    assert state_differs(engine).startswith(detail)
    assert state_differs(engine, code="P-1").startswith(detail)


def test_an_edited_project_seq_is_named_by_the_hash_pass_first(engine: Engine, sql: sqlalchemy.Engine) -> None:
    execute(sql, "UPDATE projects SET seq = 10 WHERE code = 'P-1'")
    assert difference(engine) == (
        "P-1", 11, "edited", "the chain's last event does not match the head recorded on the project"
    )


def test_a_project_moved_to_another_template_version_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    execute(sql, "UPDATE projects SET template_id = (SELECT id FROM templates WHERE key = 'team-based')")
    detail = state_differs(engine)
    assert detail.startswith("the project is pinned to template team-based v1 (sha256 ")
    assert "but its create event says large-agency v1" in detail


@pytest.mark.slow
def test_a_deleted_project_row_is_named_even_with_a_checkpoint_and_without_replay(
    engine: Engine, sql: sqlalchemy.Engine, tmp_path: Path
) -> None:
    """The red-team find: deleting only a projects row passed verify, with a checkpoint too."""
    anchor = tmp_path / "cp.json"
    anchor.write_text(engine.checkpoint().to_json())
    for table in ("tasks", "approvals", "assignments", "insight_signatures", "insight_visits", "insight_projects",
                  "projects"):
        column = "id" if table == "projects" else "project_id"
        execute(sql, f"DELETE FROM {table} WHERE {column} = (SELECT id FROM projects WHERE code = 'P-1')")
    expected = ("P-1", 11, "state differs", "the project's row is missing: its chain has 11 events")
    for options in ({}, {"checkpoint": anchor}, {"replay": False}, {"checkpoint": anchor, "replay": False},
                    {"code": "P-1"}, {"code": "P-1", "checkpoint": anchor}):
        assert difference(engine, **options) == expected, options
    with pytest.raises(Exception, match="no checkpoint was written: project P-1, event 11: state differs"):
        engine.checkpoint()


def test_a_project_row_that_no_event_created_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    execute(sql, "INSERT INTO projects (code, template_id, phase, round, status, rounds, seq, head_hash, "
                 "created_at, updated_at) SELECT 'P-0', template_id, phase, 1, 'active', '{}', 0, '', "
                 "created_at, updated_at FROM projects WHERE code = 'P-1'")
    assert difference(engine) == (
        "P-0", 1, "state differs", "projects has a row P-0 that no event created: its chain has no events"
    )


# -- the team, tasks and approvals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "detail"),
    [
        ("DELETE FROM assignments WHERE role = 'head_of_technology'",
         "assignments has no row head_of_technology/ben, which event 3 assigned"),
        ("INSERT INTO assignments SELECT project_id, role, 'mallory', assigned_at, assigned_by, seq "
         "FROM assignments WHERE role = 'project_manager'",
         "assignments has a row project_manager/mallory that no event assigned"),
        ("UPDATE assignments SET seq = 2 WHERE role = 'project_manager'",
         "assignments row project_manager/cy: seq is '2' but the history says '4'"),
        ("UPDATE assignments SET assigned_by = 'mallory' WHERE role = 'project_manager'",
         "assignments row project_manager/cy: assigned_by is 'mallory' but the history says 'ana'"),
    ],
    ids=["deleted", "added", "seq edited", "assigned_by edited"],
)
def test_an_assignment_deleted_added_or_edited_is_named(
    engine: Engine, sql: sqlalchemy.Engine, statement: str, detail: str
) -> None:
    execute(sql, statement)
    assert state_differs(engine) == detail


@pytest.mark.parametrize(
    ("statement", "detail"),
    [
        ("UPDATE tasks SET person = 'mallory' WHERE round = 1 AND role = 'head_of_technology'",
         "tasks row client_kickoff/1/head_of_technology: person is 'mallory' but the history says 'ben'"),
        ("UPDATE tasks SET note = 'all fine' WHERE round = 1 AND role = 'integrated_producer'",
         "tasks row client_kickoff/1/integrated_producer: note is 'all fine' but the history says "
         "'brief in the wiki'"),
        # cy rejected round 1 without doing the task: a row saying it was done, for that earlier round
        ("INSERT INTO tasks SELECT project_id, phase, 1, 'project_manager', 'cy', NULL, done_at, seq, auth, NULL "
         "FROM tasks WHERE round = 1 AND role = 'head_of_technology'",
         "tasks has a row client_kickoff/1/project_manager that no event recorded"),
        ("DELETE FROM tasks WHERE round = 2",
         "tasks has no row client_kickoff/2/integrated_producer, which event 9 recorded"),
        ("UPDATE approvals SET comment = 'great' WHERE round = 2",
         "approvals row client_kickoff/2/head_of_technology: comment is 'great' but the history says 'ok'"),
        ("INSERT INTO approvals SELECT project_id, phase, 1, 'project_manager', 'cy', NULL, approved_at, seq, "
         "auth, NULL "
         "FROM approvals WHERE round = 1",
         "approvals has a row client_kickoff/1/project_manager that no event recorded"),
        ("UPDATE approvals SET round = 1 WHERE round = 2",
         "approvals has a row client_kickoff/1/head_of_technology that no event recorded"),
        ("DELETE FROM approvals WHERE round = 1",
         "approvals has no row client_kickoff/1/integrated_producer, which event 7 recorded"),
    ],
    ids=["task person", "task note", "task added for round 1", "task deleted", "approval comment",
         "approval added for round 1", "approval moved to round 1", "approval deleted"],
)
def test_a_task_or_approval_row_edited_added_or_deleted_is_named(
    engine: Engine, sql: sqlalchemy.Engine, statement: str, detail: str
) -> None:
    execute(sql, statement)
    assert state_differs(engine) == detail
    assert state_differs(engine, code="P-1") == detail


# -- the system chain: grants and templates ----------------------------------------------------------


def system_differs(engine: Engine, **kwargs: Any) -> str:
    chain, seq, problem, detail = difference(engine, **kwargs)
    assert (chain, seq, problem) == (SYSTEM_CHAIN, 5, "state differs"), detail
    return detail


def test_a_grant_inserted_with_sql_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    """Someone making themselves admin with SQL: a row no event granted."""
    execute(sql, "INSERT INTO grants VALUES ('mallory', 'admin', '2026-01-01T00:00:00.000000Z', 'ana')")
    assert engine.grants()["admin"] == ["ana", "mallory"]  # the engine trusts the table ...
    assert system_differs(engine) == "grants has a row mallory/admin that no event granted"  # ... verify does not
    assert str(engine.verify_audit().first_broken).startswith("templates and grants, event 5: state differs")


def test_a_grant_deleted_or_edited_with_sql_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    execute(sql, "UPDATE grants SET granted_by = 'olga' WHERE person = 'olga'")
    assert system_differs(engine) == "grants row olga/auditor: granted_by is 'olga' but the history says 'ana'"
    execute(sql, "DELETE FROM grants WHERE person = 'olga'")
    assert system_differs(engine) == "grants has no row olga/auditor, which event 5 granted"


def test_a_revoked_grant_has_no_row_and_verifies(engine: Engine) -> None:
    engine.revoke("olga", "auditor", actor="ana")
    assert engine.verify_audit().ok


def test_an_edited_template_row_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    published = engine.template("team-based")[0].sha256
    execute(sql, "UPDATE templates SET sha256 = :h WHERE key = 'team-based'", h="0" * 64)
    detail = system_differs(engine)
    assert detail == f"templates row team-based v1: sha256 is '{'0' * 64}' but the history says '{published}'"


def test_a_template_text_or_its_compiled_definition_edited_is_named(
    engine: Engine, sql: sqlalchemy.Engine
) -> None:
    """Commands read the compiled definition: removing a gate from it must not go unseen."""
    with sql.connect() as conn:
        compiled = json.loads(conn.execute(text("SELECT compiled FROM templates WHERE key = 'large-agency'"))
                              .scalar_one())
    original = canonical_json(compiled)
    compiled["phases"][0]["gate"] = None
    execute(sql, "UPDATE templates SET compiled = :c WHERE key = 'large-agency'", c=canonical_json(compiled))
    assert system_differs(engine) == (
        "templates row large-agency v1: compiled does not describe its source "
        "(the text the history recorded the sha256 of)"
    )
    execute(sql, "UPDATE templates SET compiled = :c, source = source || '#' WHERE key = 'large-agency'",
            c=original)
    assert system_differs(engine).startswith("templates row large-agency v1: sha256 of source is '")


def test_a_template_row_that_no_event_published_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    execute(sql, "INSERT INTO templates (key, version, title, source, compiled, sha256, published_at, "
                 "published_by) SELECT key, 2, title, source, compiled, sha256, published_at, published_by "
                 "FROM templates WHERE key = 'team-based'")
    assert system_differs(engine) == "templates has a row team-based v2 that no event published"


# -- with a checkpoint, without replay, and events that cannot be replayed -----------------------------


@pytest.mark.parametrize(
    ("statement", "where"),
    [
        ("UPDATE projects SET phase = 'production_kickoff'", "P-1"),
        ("DELETE FROM assignments WHERE role = 'project_manager'", "P-1"),
        ("INSERT INTO grants VALUES ('mallory', 'admin', '2026-01-01T00:00:00.000000Z', 'ana')", SYSTEM_CHAIN),
    ],
    ids=["phase", "assignment", "grant"],
)
def test_verify_against_a_checkpoint_checks_the_state_too(
    engine: Engine, sql: sqlalchemy.Engine, tmp_path: Path, statement: str, where: str
) -> None:
    anchor = tmp_path / "cp.json"
    anchor.write_text(engine.checkpoint().to_json())
    execute(sql, statement)
    report = engine.verify_audit(checkpoint=anchor)
    assert not report.ok and report.state_checked and report.checkpoint_chains == 2
    assert report.first_broken is not None
    assert (report.first_broken.chain, report.first_broken.problem) == (where, "state differs")
    assert engine.verify_audit(checkpoint=anchor, replay=False).ok


def test_no_replay_checks_the_hash_chains_only(engine: Engine, sql: sqlalchemy.Engine, db_url: str) -> None:
    execute(sql, "UPDATE projects SET status = 'active'")
    report = engine.verify_audit(replay=False)
    assert report.ok and not report.state_checked
    run = cli_runner(db_url)
    skipped = run("audit", "verify", "--no-replay", actor="olga")
    assert skipped.exit_code == 0 and "the state tables were not checked (--no-replay)" in skipped.output
    as_json = run("audit", "verify", "--no-replay", as_json=True, actor="olga")
    assert json.loads(as_json.stdout)["state_checked"] is False
    checked = run("audit", "verify", actor="olga")
    assert checked.exit_code == 6
    assert ("Error: audit verification failed: project P-1, event 11: state differs (projects.status is "
            "'active' but the history says 'on_hold')") in checked.stderr


def test_a_broken_chain_is_named_before_any_state_difference(engine: Engine, sql: sqlalchemy.Engine) -> None:
    execute(sql, "UPDATE projects SET status = 'active'")
    drop_triggers(sql)
    execute(sql, "UPDATE events SET actor = 'mallory' WHERE chain = 'P-1' AND seq = 6")
    report = engine.verify_audit()
    assert not report.state_checked, "the state is replayed only from intact chains"
    assert report.first_broken is not None and report.first_broken.problem == "edited"


@pytest.mark.parametrize(
    ("action", "data", "detail"),
    [
        ("teleport", {"round": 2}, "unknown action 'teleport'; this phasegate cannot replay it"),
        ("assign", {"round": 2, "person": "mallory"}, "its data has no 'role' (action 'assign')"),
    ],
    ids=["unknown action", "data lacking a field"],
)
def test_an_appended_event_phasegate_cannot_replay_is_named(
    engine: Engine, sql: sqlalchemy.Engine, action: str, data: dict[str, Any], detail: str
) -> None:
    """Valid hashes, head moved along: the chain is intact, but no phasegate wrote this event."""
    drop_triggers(sql)
    with sql.connect() as conn:
        head = conn.execute(text("SELECT * FROM events WHERE chain = 'P-1' AND seq = 11")).one()
    body = canonical_json(data)
    forged = event_hash(head.hash, "P-1", 12, head.at, "mallory", action, head.phase, body)
    execute(sql, "INSERT INTO events VALUES ('P-1', 12, :at, 'mallory', :action, :phase, :data, :prev, :h)",
            at=head.at, action=action, phase=head.phase, data=body, prev=head.hash, h=forged)
    execute(sql, "UPDATE projects SET seq = 12, head_hash = :h", h=forged)
    assert engine.verify_audit(replay=False).ok
    assert difference(engine) == ("P-1", 12, "unreplayable", detail)


@pytest.mark.parametrize(
    ("statement", "detail"),
    [
        ("UPDATE people SET active = TRUE WHERE login = 'dan'",
         "people row dan: active is 'True' but the history says 'False'"),
        ("UPDATE people SET password_hash = 'x' WHERE login = 'eve'",
         "people row eve: has a password is 'True' but the history says 'False'"),
        ("INSERT INTO people VALUES ('mallory', NULL, NULL, TRUE, NULL, '2026-01-01T00:00:00.000000Z', "
         "'2026-01-01T00:00:00.000000Z')",
         "people has a row mallory that no event added"),
        ("INSERT INTO tokens VALUES ('t0', 'eve', NULL, 'ab', '2026-01-01T00:00:00.000000Z', NULL, NULL, NULL)",
         "tokens has a row t0 that no event created"),
        ("UPDATE tokens SET revoked_at = NULL",
         "tokens row {token}: revoked is 'False' but the history says 'True'"),
    ],
    ids=["account enabled", "password set", "account added", "token added", "token unrevoked"],
)
def test_an_account_or_token_changed_with_sql_is_named(
    engine: Engine, sql: sqlalchemy.Engine, statement: str, detail: str
) -> None:
    """A disabled account enabled, a password or a token given with SQL: each would let someone in."""
    engine.add_user("dan", actor="ana")
    engine.add_user("eve", actor="ana")
    engine.disable_user("dan", actor="ana")
    info, _secret = engine.create_token(actor="eve")
    engine.revoke_token(info.id, actor="eve")
    assert engine.verify_audit().ok
    execute(sql, statement)
    chain, _seq, problem, found = difference(engine)
    assert (chain, problem, found) == (SYSTEM_CHAIN, "state differs", detail.format(token=info.id))
