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


def project_facts(conn: Connection) -> Iterator[tuple[int, str, Facts]]:
    """(project id, code, its summary rows from its history), project by project, in id order."""
    definitions = _definitions(conn)
    last = 0
    while True:
        batch = conn.execute(
            select(t_projects.c.id, t_projects.c.code, t_projects.c.template_id)
            .where(t_projects.c.id > last).order_by(t_projects.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1].id
        by_code: dict[str, list[_Recorded]] = {p.code: [] for p in batch}
        rows = conn.execute(
            select(t_events.c.chain, t_events.c.seq, t_events.c.at, t_events.c.actor, t_events.c.action,
                   t_events.c.phase, t_events.c.data, t_events.c.hash)
            .where(t_events.c.chain.in_(list(by_code))).order_by(t_events.c.chain, t_events.c.seq)
        )
        for r in rows:
            by_code[r.chain].append(_Recorded(r.seq, r.at, r.actor, r.action, r.phase, json.loads(r.data), r.hash))
        for p in batch:
            yield p.id, p.code, facts_of(p.code, p.id, p.template_id, by_code[p.code], definitions[p.template_id])


def backfill(conn: Connection) -> int:
    """Fill the summary tables from every project's history; returns the number of projects."""
    count = 0
    visits: list[dict[str, Any]] = []
    signatures: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []

    def flush() -> None:
        for table, rows in ((insight_projects, projects), (insight_visits, visits),
                            (insight_signatures, signatures)):
            if rows:
                conn.execute(table.insert(), rows)
                rows.clear()

    for _pid, _code, facts in project_facts(conn):
        count += 1
        if facts.project is not None:
            projects.append(facts.project)
        visits.extend(facts.visits.values())
        signatures.extend(facts.signatures.values())
        if len(visits) >= 5000:
            flush()
    flush()
    return count
