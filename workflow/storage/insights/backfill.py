"""The summary rows from the history: filled by migration 0013 for the projects already there, and
compared with the stored rows by ``audit verify`` (:func:`first_difference`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.domain.insights.changes import Facts
from workflow.domain.insights.history import facts_of
from workflow.domain.results import STATE_DIFFERS, BrokenEvent
from workflow.domain.templates.definition import Definition, definition_from_dict
from workflow.storage.tables import events as t_events
from workflow.storage.tables import insight_projects, insight_signatures, insight_visits
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import templates as t_templates

BATCH = 500  # projects read and written at a time: memory stays flat however many there are


class _Recorded(NamedTuple):
    seq: int
    at: str
    actor: str
    action: str
    phase: str | None
    data: dict[str, Any]
    hash: str


def _definitions(conn: Connection) -> dict[int, Definition]:
    rows = conn.execute(select(t_templates.c.id, t_templates.c.compiled, t_templates.c.source))
    out = {}
    for row in rows:
        if row.compiled:
            out[row.id] = definition_from_dict(json.loads(row.compiled))
        else:  # a version stored before 0003: load its YAML
            from workflow.domain.templates.loader import load_definition

            out[row.id] = load_definition(row.source)
    return out


def project_facts(conn: Connection, code: str | None = None) -> Iterator[tuple[int, str, int, Facts]]:
    """(project id, code, its last event's seq, its summary rows from its history), project by project
    in id order (``code``: that project alone)."""
    definitions = _definitions(conn)
    last = 0
    while True:
        query = select(t_projects.c.id, t_projects.c.code, t_projects.c.template_id).where(
            t_projects.c.id > last
        )
        if code is not None:
            query = query.where(t_projects.c.code == code)
        batch = conn.execute(query.order_by(t_projects.c.id).limit(BATCH)).all()
        if not batch:
            return
        first, last = batch[0].id, batch[-1].id
        by_code: dict[str, list[_Recorded]] = {p.code: [] for p in batch}
        # The batch's events by its id range, not by a list of its codes: a statement holding a list
        # of values is a reference cycle in SQLAlchemy, freed only by a full collection, so memory
        # would grow with the number of batches until one ran.
        rows = conn.execute(
            select(
                t_events.c.chain,
                t_events.c.seq,
                t_events.c.at,
                t_events.c.actor,
                t_events.c.action,
                t_events.c.phase,
                t_events.c.data,
                t_events.c.hash,
            )
            .join(t_projects, t_projects.c.code == t_events.c.chain)
            .where(t_projects.c.id.between(first, last))
            .order_by(t_events.c.chain, t_events.c.seq)
        )
        for r in rows:
            by_code[r.chain].append(
                _Recorded(r.seq, r.at, r.actor, r.action, r.phase, json.loads(r.data), r.hash)
            )
        for p in batch:
            events = by_code[p.code]
            facts = facts_of(p.code, p.id, p.template_id, events, definitions[p.template_id])
            yield p.id, p.code, events[-1].seq if events else 0, facts


def first_difference(conn: Connection, code: str | None = None) -> BrokenEvent | None:
    """The first project (or project ``code``) whose stored summary rows are not what its history
    gives: ``audit verify``'s state check of the insights (run after the chains and the state tables)."""
    pending: list[tuple[int, str, int, Facts]] = []

    def check() -> BrokenEvent | None:
        ids = [pid for pid, _c, _s, _f in pending]
        stored: dict[int, dict[str, dict[Any, dict[str, Any]]]] = {pid: {} for pid in ids}
        for table, keys in _KEYS.items():  # the pending ids by their range (see project_facts)
            for row in conn.execute(select(table).where(table.c.project_id.between(ids[0], ids[-1]))):
                values = dict(row._mapping)
                if values["project_id"] not in stored:
                    continue  # a project outside ``code``'s filter within the range
                key = tuple(values[k] for k in keys) if len(keys) > 1 else values[keys[0]]
                stored[values["project_id"]].setdefault(table.name, {})[key] = values
        for pid, chain, seq, facts in pending:
            replayed = {
                "insight_projects": {} if facts.project is None else {pid: facts.project},
                "insight_visits": dict(facts.visits),
                "insight_signatures": dict(facts.signatures),
            }
            for name, rows in replayed.items():
                detail = _differs(name, rows, stored[pid].get(name, {}))
                if detail is not None:
                    return BrokenEvent(chain, seq, STATE_DIFFERS, detail)
        pending.clear()
        return None

    for found in project_facts(conn, code):
        pending.append(found)
        if len(pending) >= BATCH and (broken := check()) is not None:
            return broken
    return check() if pending else None


_KEYS = {
    insight_projects: ("project_id",),
    insight_visits: ("phase", "round"),
    insight_signatures: ("phase", "round", "role"),
}


def _differs(
    table: str, replayed: dict[Any, dict[str, Any]], stored: dict[Any, dict[str, Any]]
) -> str | None:
    for key in sorted(set(replayed) | set(stored), key=repr):
        want, have = replayed.get(key), stored.get(key)
        where = f"{table} row {key}"
        if have is None:
            return f"{where} is missing"
        if want is None:
            return f"{where} is not in the history"
        for column, value in want.items():
            got = have.get(column)
            if (bool(got) if isinstance(value, bool) and got is not None else got) != value:
                return f"{where}: {column} is {got!r}, the history says {value!r}"
    return None


def backfill(conn: Connection) -> int:
    """Fill the summary tables from every project's history; returns the number of projects."""
    count = 0
    visits: list[dict[str, Any]] = []
    signatures: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []

    def flush() -> None:
        for table, rows in (
            (insight_projects, projects),
            (insight_visits, visits),
            (insight_signatures, signatures),
        ):
            if rows:
                conn.execute(table.insert(), rows)
                rows.clear()

    for _pid, _code, _seq, facts in project_facts(conn):
        count += 1
        if facts.project is not None:
            projects.append(facts.project)
        visits.extend(facts.visits.values())
        signatures.extend(facts.signatures.values())
        if len(visits) >= 5000:
            flush()
    flush()
    return count
