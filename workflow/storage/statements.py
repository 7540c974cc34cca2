"""The write path's SQL, written once as text and run on the DBAPI cursor.

A command runs a handful of statements; built through SQLAlchemy's expression
layer each costs ~40-90 µs of Python, which is most of a durable SQLite
transaction (~130 µs). Prepared text statements cost ~5 µs and let psycopg
prepare them server-side. Everything else (reads for display, admin commands,
migrations) keeps using SQLAlchemy Core.

Written with ``?`` placeholders; :func:`for_dialect` converts them for psycopg.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

PROJECT_COLUMNS = (
    "id", "code", "name", "client", "template_id", "phase", "round", "status", "rounds", "seq",
    "head_hash", "created_at", "updated_at",
)

_SQL = {
    "project": f"SELECT {', '.join(PROJECT_COLUMNS)} FROM projects WHERE code = ?",
    # The team, the actor's grants, and the current round's tasks and approvals: one round trip.
    "round": (
        "SELECT 'a', role, person, assigned_at, seq, NULL FROM assignments WHERE project_id = ?"
        " UNION ALL SELECT 'p', privilege, person, granted_at, 0, NULL FROM grants WHERE person = ?"
        " UNION ALL SELECT 't', role, person, done_at, seq, note FROM tasks"
        " WHERE project_id = ? AND phase = ? AND round = ?"
        " UNION ALL SELECT 'g', role, person, approved_at, seq, comment FROM approvals"
        " WHERE project_id = ? AND phase = ? AND round = ?"
    ),
    # The same, found by the project's code (PostgreSQL sends it pipelined right after the row lock).
    "round_by_code": (
        "SELECT 'a', a.role, a.person, a.assigned_at, a.seq, NULL FROM assignments a"
        " JOIN projects p ON p.id = a.project_id WHERE p.code = ?"
        " UNION ALL SELECT 'p', privilege, person, granted_at, 0, NULL FROM grants WHERE person = ?"
        " UNION ALL SELECT 't', t.role, t.person, t.done_at, t.seq, t.note FROM tasks t"
        " JOIN projects p ON p.id = t.project_id AND p.phase = t.phase AND p.round = t.round WHERE p.code = ?"
        " UNION ALL SELECT 'g', g.role, g.person, g.approved_at, g.seq, g.comment FROM approvals g"
        " JOIN projects p ON p.id = g.project_id AND p.phase = g.phase AND p.round = g.round WHERE p.code = ?"
    ),
    "insert_task": (
        "INSERT INTO tasks (project_id, phase, round, role, person, note, done_at, seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "insert_approval": (
        "INSERT INTO approvals (project_id, phase, round, role, person, comment, approved_at, seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "insert_assignment": (
        "INSERT INTO assignments (project_id, role, person, assigned_at, assigned_by, seq)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "delete_assignment": "DELETE FROM assignments WHERE project_id = ? AND role = ? AND person = ?",
    "insert_event": (
        "INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    # Moves the chain head and the project's state; ``seq = ?`` guards against a fork.
    "update_project": (
        "UPDATE projects SET seq = ?, head_hash = ?, updated_at = ?, phase = ?, round = ?, rounds = ?,"
        " status = ? WHERE id = ? AND seq = ?"
    ),
    # Whether a project exists and whether the reader is an admin/auditor or on its team.
    "read_access": (
        "SELECT p.id,"
        " EXISTS (SELECT 1 FROM grants g WHERE g.person = ? AND g.privilege IN ('admin', 'auditor')),"
        " EXISTS (SELECT 1 FROM assignments a WHERE a.project_id = p.id AND a.person = ?)"
        " FROM projects p WHERE p.code = ?"
    ),
    # History: callers append ``WHERE chain = ?`` and their filters.
    "events": "SELECT chain, seq, at, actor, action, phase, data, prev_hash, hash FROM events",
    "get_request": "SELECT actor, command, outcome FROM requests WHERE request_id = ?",
    "put_request": "INSERT INTO requests (request_id, actor, command, outcome, at) VALUES (?, ?, ?, ?, ?)",
}


def combined(statements: list[tuple[str, tuple[Any, ...]]]) -> tuple[str, tuple[Any, ...]]:
    """Several writes as one PostgreSQL statement: all but the last become data-modifying CTEs.

    ``WITH w1 AS (INSERT ...), w2 AS (INSERT ...) UPDATE ...`` runs every part (a data-modifying
    CTE always runs to completion), atomically, in one snapshot, so the parts must not touch
    the same rows; a command's writes never do (one row each in tasks or approvals or
    assignments, events, projects, requests). One statement instead of three saves the
    server a statement's start-up and teardown each, ~50 µs of a ~1 ms command.
    """
    if len(statements) == 1:
        return statements[0]
    ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(statements[:-1], 1))
    params: tuple[Any, ...] = ()
    for _, p in statements:
        params += p
    return f"WITH {ctes} {statements[-1][0]}", params


def for_dialect(postgresql: bool) -> SimpleNamespace:
    """The statements with this driver's placeholders; on PostgreSQL the project read locks the row."""
    sql = dict(_SQL)
    if postgresql:
        sql["project_for_update"] = sql["project"] + " FOR UPDATE"
        sql = {name: text.replace("?", "%s") for name, text in sql.items()}
    else:
        sql["project_for_update"] = sql["project"]  # BEGIN IMMEDIATE already holds the write lock
    return SimpleNamespace(**sql)
