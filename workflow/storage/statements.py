"""The write path's SQL, written once as text with named parameters and run on the DBAPI cursor.

A command runs a handful of statements; built through SQLAlchemy's expression
layer each would cost about as much Python as a durable SQLite transaction takes
(benchmarks/results.md, "Engine commands"). Prepared text statements cost a small
fraction of that and let psycopg prepare them server-side. Everything else (reads for display,
admin commands, migrations) uses SQLAlchemy Core.

A :class:`Statement` is written with ``:name`` parameters and rendered once per
driver (``?`` for sqlite3, ``%s`` for psycopg); :meth:`Statement.args` turns a
mapping of named values into the positional tuple in the text's order, so a
caller never has to know that order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from workflow.domain.vocabulary import Status

_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


class ProjectRow(NamedTuple):
    """A ``projects`` row as :data:`PROJECT` reads it."""

    id: int
    code: str
    name: str | None
    client: str | None
    template_id: int
    phase: str
    round: int
    status: Status
    rounds: str
    seq: int
    head_hash: str
    created_at: str
    updated_at: str
    hold_seq: int | None
    rejection_seq: int | None
    calendar: str | None
    starts_on: str | None
    due_on: str | None
    gate_opened_at: str | None
    planned_due: str | None
    next_tick_at: str | None


PROJECT_COLUMNS = ProjectRow._fields


class Statement:
    """One SQL text with ``:named`` parameters, in both drivers' placeholder styles."""

    __slots__ = ("_get", "name", "names", "postgresql", "sqlite", "texts")

    def __init__(self, name: str, sql: str) -> None:
        self.name = name
        self.names = tuple(_PARAM.findall(sql))
        self.sqlite = _PARAM.sub("?", sql)
        self.postgresql = _PARAM.sub("%s", sql)
        self.texts = {"qmark": self.sqlite, "format": self.postgresql}  # by the driver's paramstyle
        if len(self.names) == 1:
            only = self.names[0]
            self._get: Any = lambda values: (values[only],)
        else:
            self._get = itemgetter(*self.names) if self.names else None

    def args(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional parameters, in the text's order (a name used twice is passed twice)."""
        return self._get(values) if self._get is not None else ()

    def __repr__(self) -> str:
        return f"Statement({self.name!r})"


def _insert(table: str, *columns: str) -> Statement:
    return Statement(
        f"insert_{table}",
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
    )


_PROJECT = f"SELECT {', '.join(PROJECT_COLUMNS)} FROM projects WHERE code = :code"
PROJECT = Statement("project", _PROJECT)
PROJECT_FOR_UPDATE = Statement("project_for_update", _PROJECT + " FOR UPDATE")  # PostgreSQL's row lock

# The team, the actor's grants (and "disabled" for a disabled account), and the current round's
# tasks and approvals: one round trip. Each row: kind ('a' assignment, 'p' privilege, 't' task,
# 'g' approval), role, person, at, seq, text (a task's note, an approval's comment), auth, and whom
# a task or approval was given for (on_behalf_of: a delegate's).
_ROUND = (
    "SELECT 'a', role, person, assigned_at, seq, NULL, NULL, NULL FROM assignments"
    " WHERE project_id = :project_id"
    " UNION ALL SELECT 'p', privilege, person, granted_at, 0, NULL, NULL, NULL FROM grants"
    " WHERE person = :actor"
    " UNION ALL SELECT 'p', 'disabled', login, updated_at, 0, NULL, NULL, NULL FROM people"
    " WHERE login = :actor AND NOT active"
    " UNION ALL SELECT 't', role, person, done_at, seq, note, auth, on_behalf_of FROM tasks"
    " WHERE project_id = :project_id AND phase = :phase AND round = :round"
    " UNION ALL SELECT 'g', role, person, approved_at, seq, comment, auth, on_behalf_of FROM approvals"
    " WHERE project_id = :project_id AND phase = :phase AND round = :round"
)
# On the write path, what the outbox needs (storage/outbox.py) comes in the same query: the
# team's e-mail recipients ('e': login, address, chosen kinds) and the active webhooks ('w': id,
# kinds), so an event's notifications cost no round trip of their own.
_WEBHOOKS = " UNION ALL SELECT 'w', id, NULL, NULL, 0, kinds, NULL, NULL FROM webhooks WHERE active"
_RECIPIENTS = (
    " UNION ALL SELECT 'e', NULL, m.login, NULL, 0, m.email, s.email_kinds, NULL FROM assignments a"
    " JOIN people m ON m.login = a.person LEFT JOIN notify_settings s ON s.person = m.login"
    " WHERE a.project_id = :project_id AND m.active AND m.email IS NOT NULL"
) + _WEBHOOKS
ROUND = Statement("round", _ROUND)
ROUND_FOR_WRITE = Statement("round_for_write", _ROUND + _RECIPIENTS)
# ROUND_FOR_WRITE found by the project's code (PostgreSQL sends it pipelined right after the row lock).
ROUND_BY_CODE = Statement(
    "round_by_code",
    (
        "SELECT 'a', a.role, a.person, a.assigned_at, a.seq, NULL, NULL, NULL FROM assignments a"
        " JOIN projects p ON p.id = a.project_id WHERE p.code = :code"
        " UNION ALL SELECT 'p', privilege, person, granted_at, 0, NULL, NULL, NULL FROM grants"
        " WHERE person = :actor"
        " UNION ALL SELECT 'p', 'disabled', login, updated_at, 0, NULL, NULL, NULL FROM people"
        " WHERE login = :actor AND NOT active"
        " UNION ALL SELECT 't', t.role, t.person, t.done_at, t.seq, t.note, t.auth, t.on_behalf_of"
        " FROM tasks t"
        " JOIN projects p ON p.id = t.project_id AND p.phase = t.phase AND p.round = t.round"
        " WHERE p.code = :code"
        " UNION ALL SELECT 'g', g.role, g.person, g.approved_at, g.seq, g.comment, g.auth, g.on_behalf_of"
        " FROM approvals g"
        " JOIN projects p ON p.id = g.project_id AND p.phase = g.phase AND p.round = g.round"
        " WHERE p.code = :code"
        " UNION ALL SELECT 'e', NULL, m.login, NULL, 0, m.email, s.email_kinds, NULL FROM assignments a"
        " JOIN projects p ON p.id = a.project_id JOIN people m ON m.login = a.person"
        " LEFT JOIN notify_settings s ON s.person = m.login"
        " WHERE p.code = :code AND m.active AND m.email IS NOT NULL"
    ) + _WEBHOOKS,
)

INSERT_TASK = _insert(
    "tasks", "project_id", "phase", "round", "role", "person", "note", "done_at", "seq", "auth",
    "on_behalf_of",
)
INSERT_APPROVAL = _insert(
    "approvals", "project_id", "phase", "round", "role", "person", "comment", "approved_at", "seq", "auth",
    "on_behalf_of",
)
INSERT_ASSIGNMENT = _insert(
    "assignments", "project_id", "role", "person", "assigned_at", "assigned_by", "seq"
)
DELETE_ASSIGNMENT = Statement(
    "delete_assignment",
    "DELETE FROM assignments WHERE project_id = :project_id AND role = :role AND person = :person",
)
EVENT_COLUMNS = ("chain", "seq", "at", "actor", "action", "phase", "data", "prev_hash", "hash")
# Undoing the current round's work: the rows go; the history keeps the event that voided them.
DELETE_TASK = Statement(
    "delete_task",
    "DELETE FROM tasks WHERE project_id = :project_id AND phase = :phase AND round = :round AND role = :role",
)
DELETE_APPROVAL = Statement(
    "delete_approval",
    "DELETE FROM approvals"
    " WHERE project_id = :project_id AND phase = :phase AND round = :round AND role = :role",
)
INSERT_EVENT = _insert("events", *EVENT_COLUMNS)
# The state columns an event may move along with the chain head.
PROJECT_MOVES = ("phase", "round", "rounds", "status", "hold_seq", "rejection_seq", "due_on",
                 "gate_opened_at", "planned_due", "next_tick_at")


@lru_cache(maxsize=128)
def update_project(moved: tuple[str, ...]) -> Statement:
    """Moves the chain head and the state columns ``moved`` (of :data:`PROJECT_MOVES`), and only
    those: the others keep the values the locked row has (setting them again would cost SQLite
    their index updates, and the driver a parameter each); ``seq = :prev_seq`` guards against a fork."""
    sets = ", ".join(f"{c} = :{c}" for c in ("seq", "head_hash", "updated_at", *moved))
    return Statement("update_project_" + "_".join(moved),
                     f"UPDATE projects SET {sets} WHERE id = :id AND seq = :prev_seq")


# Whether a project exists and whether the reader holds a role on it.
MEMBERSHIP = Statement(
    "membership",
    (
        "SELECT p.id, EXISTS (SELECT 1 FROM assignments a WHERE a.project_id = p.id AND a.person = :reader)"
        " FROM projects p WHERE p.code = :code"
    ),
)
# History: the chain's events, oldest first, with any of these filters (or the newest :last).
HISTORY_FILTERS = {
    "since": "at >= :since",
    "until": "at <= :until",
    "actor": "actor = :actor",
    "action": "action = :action",
    "phase": "phase = :phase",
}


@lru_cache(maxsize=128)
def history(filters: tuple[str, ...], newest_first: bool) -> Statement:
    """A page of history for one combination of :data:`HISTORY_FILTERS` (made once per combination):
    the ``:size`` events after seq ``:after``, oldest first; or (``newest_first``) the newest
    ``:size`` after it, newest first."""
    where = " AND ".join(["chain = :chain", "seq > :after", *(HISTORY_FILTERS[name] for name in filters)])
    order = "seq DESC" if newest_first else "seq"
    columns = ", ".join(EVENT_COLUMNS)
    return Statement("history", f"SELECT {columns} FROM events WHERE {where} ORDER BY {order} LIMIT :size")


@lru_cache(maxsize=128)
def history_start(filters: tuple[str, ...]) -> Statement:
    """The seq of the (``:skip`` + 1)-th newest event matching ``filters``: where "the newest N" begin."""
    where = " AND ".join(["chain = :chain", *(HISTORY_FILTERS[name] for name in filters)])
    return Statement(
        "history_start", f"SELECT seq FROM events WHERE {where} ORDER BY seq DESC LIMIT 1 OFFSET :skip"
    )


# One event, by its place in its chain.
EVENT = Statement(
    "event", f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE chain = :chain AND seq = :seq"
)

GET_REQUEST = Statement(
    "get_request", "SELECT actor, command, outcome FROM requests WHERE request_id = :request_id"
)
PUT_REQUEST = _insert("requests", "request_id", "actor", "command", "outcome", "at")


def combined(statements: list[tuple[str, tuple[Any, ...]]]) -> tuple[str, tuple[Any, ...]]:
    """Several writes as one PostgreSQL statement: all but the last become data-modifying CTEs.

    ``WITH w1 AS (INSERT ...), w2 AS (INSERT ...) UPDATE ...`` runs every part (a data-modifying
    CTE always runs to completion), atomically, in one snapshot, so the parts must not touch
    the same rows; a command's writes never do (one row each in tasks or approvals or
    assignments, events, projects, requests). One statement instead of three saves the
    server a statement's start-up and teardown each (see benchmarks/results.md).
    """
    if len(statements) == 1:
        return statements[0]
    ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(statements[:-1], 1))
    params: tuple[Any, ...] = ()
    for _, p in statements:
        params += p
    return f"WITH {ctes} {statements[-1][0]}", params
