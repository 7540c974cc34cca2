"""Every column the state check compares, edited with SQL, fails `audit verify`; and what it leaves alone.

SQLite only: the comparisons are the same Python on both backends, and the named
scenarios of ``test_state_check.py`` run on both. One database of the standard history
is built per module and copied for each edit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy
from tampering import execute, two_rounds_on_hold

from workflow import Engine
from workflow.domain.results import AuditReport

# -- every compared column, edited -------------------------------------------------------------------


def flipped(column: str) -> str:
    """SQL for a hash with its first digit changed (whatever it was)."""
    return f"CASE substr({column}, 1, 1) WHEN '0' THEN '1' ELSE '0' END || substr({column}, 2)"


# Every column the state check compares, with an edit that changes it (all rows of the table).
EDITS: dict[str, dict[str, str]] = {
    "projects": {
        "name": "name || 'x'", "client": "client || 'x'", "phase": "phase || 'x'", "round": "round + 7",
        "status": "'cancelled'", "rounds": "replace(rounds, '2', '3')", "seq": "seq + 7",
        "head_hash": flipped("head_hash"), "created_at": "created_at || 'x'",
        "updated_at": "updated_at || 'x'", "hold_seq": "NULL", "rejection_seq": "coalesce(rejection_seq, 0) + 7",
    },
    "assignments": {"role": "role || 'x'", "person": "person || 'x'", "assigned_at": "assigned_at || 'x'",
                    "assigned_by": "assigned_by || 'x'", "seq": "seq + 7"},
    "tasks": {"phase": "phase || 'x'", "round": "round + 7", "role": "role || 'x'", "person": "person || 'x'",
              "note": "coalesce(note, '') || 'x'", "done_at": "done_at || 'x'", "seq": "seq + 7",
              "auth": "'token'"},
    "approvals": {"phase": "phase || 'x'", "round": "round + 7", "role": "role || 'x'",
                  "person": "person || 'x'", "comment": "coalesce(comment, '') || 'x'",
                  "approved_at": "approved_at || 'x'", "seq": "seq + 7", "auth": "'proxy'"},
    "grants": {"person": "person || 'x'", "granted_by": "granted_by || 'x'",
               "privilege": "CASE privilege WHEN 'admin' THEN 'auditor' ELSE 'admin' END"},
    "templates": {"key": "key || 'x'", "version": "version + 7", "title": "title || 'x'",
                  "sha256": flipped("sha256"), "published_by": "published_by || 'x'",
                  "source": "source || '#'", "compiled": "replace(compiled, '\"title\":\"', '\"title\":\"x')"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file of the standard history, copied for each edit (building it each time is slow)."""
    path = tmp_path_factory.mktemp("state") / "built.db"
    with Engine(f"sqlite:///{path}") as e:
        two_rounds_on_hold(e)
    return path


@pytest.mark.parametrize(("table", "column"), [(t, c) for t, columns in EDITS.items() for c in columns])
def test_every_compared_column_edited_fails_verify(built: Path, tmp_path: Path, table: str, column: str) -> None:
    path = tmp_path / "edited.db"
    shutil.copy(built, path)
    client = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        execute(client, f"UPDATE {table} SET {column} = {EDITS[table][column]}")
    finally:
        client.dispose()
    with Engine(f"sqlite:///{path}") as e:
        report: AuditReport = e.verify_audit()
    assert not report.ok and report.first_broken is not None, f"{table}.{column} edited, and verify passed"
    if (table, column) not in (("projects", "seq"), ("projects", "head_hash")):  # those are the chain's head
        assert report.first_broken.problem == "state differs"
        assert table in report.first_broken.detail or "pinned" in report.first_broken.detail


def test_a_row_of_no_project_is_ignored_until_a_project_takes_its_id(built: Path, tmp_path: Path) -> None:
    """A plain SQLite client does not enforce foreign keys; the next project's id is the row's."""
    path = tmp_path / "orphan.db"
    shutil.copy(built, path)
    client = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        execute(client, "INSERT INTO approvals VALUES ((SELECT max(id) + 1 FROM projects), 'client_kickoff', 1, "
                        "'project_manager', 'mallory', NULL, '2026-01-01T00:00:00.000000Z', 2, 'asserted')")
    finally:
        client.dispose()
    with Engine(f"sqlite:///{path}") as e:
        assert e.verify_audit().ok, "the row belongs to no project: nothing reads it"
        e.create_project("P-2", template="large-agency", actor="ana")
        report = e.verify_audit()
    assert report.first_broken is not None and report.first_broken.chain == "P-2"
    assert report.first_broken.detail == "approvals has a row client_kickoff/1/project_manager that no event recorded"
