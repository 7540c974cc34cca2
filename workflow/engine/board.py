"""The board: every project a person may read, with what each waits on — streamed, in pages.

Projects come in code order, a page at a time, each page read in its own short
transaction with one query for all its projects' teams and current rounds; so a
board of any size holds one page in memory, its first line is out at once, and a
reader who pauses holds no transaction open. ``after`` and ``limit`` page through it
(the HTTP API's paging is the same).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from sqlalchemy import String, and_, cast, func, literal, null, select, tuple_, union_all

from workflow.domain import inputs, paging, rules
from workflow.domain.identity import Identity, acting
from workflow.domain.results import ProjectSummary
from workflow.domain.status import project_summary
from workflow.errors import UsageError
from workflow.storage import statements as sql
from workflow.storage.database import utcnow
from workflow.storage.files.versions import with_deliverables
from workflow.storage.grants import privileges_of
from workflow.storage.project_rows import state_of
from workflow.storage.statements import ProjectRow
from workflow.storage.store import Store
from workflow.storage.tables import approvals as t_approvals
from workflow.storage.tables import assignments as t_assignments
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import tasks as t_tasks
from workflow.storage.tables import templates as t_templates
from workflow.storage.transaction import ReadTx

PAGE = 500
NO_DUE = "9999-12-31"  # sorts a project without a due date after every dated one


def iter_projects(store: Store, *, reader: str | Identity | None = None, status: str | None = None,
                  template: str | None = None, phase: str | None = None, after: str | None = None,
                  limit: int | None = None, overdue: bool | None = None,
                  sort: str = "code") -> Iterator[ProjectSummary]:
    """The projects ``reader`` may read (None: all), in code order, after ``after``, at most ``limit``.

    ``overdue``: only those whose current phase is past its due date; ``sort="due"``: the
    earliest due date first (projects without one last, then by code), paged the same way.

    The filters and the reader are checked now (a refusal is raised here, before anything is
    printed); the projects come as the iterator is read.
    """
    from workflow.engine.reads import check_filters

    who = None if reader is None else acting(reader).person
    if sort not in ("code", "due"):
        raise UsageError(f"the board sorts by code or due, not {inputs.shown(sort)}")
    limit = inputs.count(limit, "the number of projects (--limit)")
    cursor = None if after is None else inputs.project_code(after)

    def prepare(tx: ReadTx) -> bool:
        check_filters(tx, status, template, phase)
        # Pre-filtered in SQL for someone without a grant: only their projects (rules.may_read).
        return who is not None and not rules.may_read(privileges_of(tx, who), member=False)

    members_only = store.read(prepare)
    return _pages(
        store,
        partial(_page, status=status, template=template, phase=phase, member=who if members_only else None,
                overdue=bool(overdue), by_due=sort == "due"),
        cursor,
        limit,
    )


def _pages(store: Store, read_page: Any, cursor: str | None, limit: int | None) -> Iterator[ProjectSummary]:
    fetch = paging.read_after(lambda after, size: store.read(partial(read_page, after=after, size=size)),
                              lambda p: p.code)
    first, following = fetch(cursor, PAGE if limit is None else min(PAGE, limit))
    yield from paging.follow(fetch, first, following, limit, PAGE)


def _page(
    tx: ReadTx,
    *,
    status: str | None,
    template: str | None,
    phase: str | None,
    member: str | None,
    after: str | None,
    size: int,
    overdue: bool = False,
    by_due: bool = False,
) -> list[ProjectSummary]:
    p = t_projects.c
    stmt = select(*(p[name] for name in sql.PROJECT_COLUMNS))
    due_key = func.coalesce(p.due_on, NO_DUE)
    if after is not None and by_due:
        key = tx.core(select(due_key).where(p.code == after)).scalar() or NO_DUE
        stmt = stmt.where(tuple_(due_key, p.code) > tuple_(literal(key), literal(after)))
    elif after is not None:
        stmt = stmt.where(p.code > after)
    if overdue:
        stmt = stmt.where(p.status == "active", p.due_on < utcnow()[:10])
    if status is not None:
        stmt = stmt.where(t_projects.c.status == status)
    if phase is not None:
        stmt = stmt.where(t_projects.c.phase == phase)
    if template is not None:
        stmt = stmt.where(
            t_projects.c.template_id.in_(select(t_templates.c.id).where(t_templates.c.key == template))
        )
    if member is not None:
        stmt = stmt.where(
            t_projects.c.id.in_(select(t_assignments.c.project_id).where(t_assignments.c.person == member))
        )
    order = (due_key, p.code) if by_due else (p.code,)
    rows = [ProjectRow._make(r) for r in tx.core(stmt.order_by(*order).limit(size))]
    rounds = _rounds(tx, [row.id for row in rows])
    out = []
    now = utcnow()
    for row in rows:
        state, _ = state_of(row, rounds.get(row.id, ()))
        tpl = tx.template(state.template_id)
        # a phase declaring deliverables: their versions read (one query; none for other phases)
        state = with_deliverables(tx, state, tpl.definition)
        out.append(project_summary(state, tpl, now))
    return out


def _rounds(tx: ReadTx, ids: Sequence[int]) -> dict[int, list[tuple[Any, ...]]]:
    """project id -> its team and current round's tasks and approvals, for a page, in one query.

    The rows have the shape ``statements.ROUND`` gives (kind, role, person, at, seq, text, auth,
    on_behalf_of).
    """
    if not ids:
        return {}
    p = t_projects
    a, t, g = t_assignments, t_tasks, t_approvals
    current = and_(p.c.id == t.c.project_id, p.c.phase == t.c.phase, p.c.round == t.c.round)
    signed = and_(p.c.id == g.c.project_id, p.c.phase == g.c.phase, p.c.round == g.c.round)
    query = union_all(
        select(
            a.c.project_id,
            literal("a"),
            a.c.role,
            a.c.person,
            a.c.assigned_at,
            a.c.seq,
            cast(null(), String),
            cast(null(), String),
            cast(null(), String),
        ).where(a.c.project_id.in_(ids)),
        select(t.c.project_id, literal("t"), t.c.role, t.c.person, t.c.done_at, t.c.seq, t.c.note, t.c.auth,
               t.c.on_behalf_of)
        .join(p, current)
        .where(t.c.project_id.in_(ids)),
        select(
            g.c.project_id,
            literal("g"),
            g.c.role,
            g.c.person,
            g.c.approved_at,
            g.c.seq,
            g.c.comment,
            g.c.auth,
            g.c.on_behalf_of,
        )
        .join(p, signed)
        .where(g.c.project_id.in_(ids)),
    )
    out: dict[int, list[tuple[Any, ...]]] = {}
    for project_id, *rest in tx.core(query):
        out.setdefault(project_id, []).append(tuple(rest))
    return out


def work_of(store: Store, person: str | Identity) -> dict[str, list[dict[str, Any]]]:
    """What waits on ``person`` across their projects: tasks to mark done, gates to sign, projects
    they lead that can advance, and what blocks the others they lead (with who can clear it).

    Each item names what is owed (``title``: the task's words, or the gate's title) and when its
    phase is due (``due``, ``overdue``, ``due_in_days``: the board's reading, no query more). Each
    list is in the order to work through it: the overdue first, then by due date (undated last),
    then the longest waiting (by the project's last change)."""
    who = acting(person).person
    tasks: list[dict[str, Any]] = []
    sign: list[dict[str, Any]] = []
    advance: list[dict[str, Any]] = []
    blocked: list[dict[str, Any]] = []
    for p in iter_projects(store, reader=who, status="active"):
        dated = {"due": p.due, "overdue": p.overdue, "due_in_days": p.due_in_days}
        for w in p.waiting:
            if who in w["people"]:
                item = {
                    "project": p.code,
                    "name": p.name,
                    "phase": p.phase,
                    "phase_title": p.phase_title,
                    "round": p.round,
                    "role": w["role"],
                    "role_title": w["role_title"],
                    "title": w.get("title") or "",
                    "seq": p.seq,
                    "since": p.updated_at,
                    **dated,
                }
                (tasks if w["kind"] == "task" else sign).append(item)
        if who in p.lead_people:
            entry = {
                "project": p.code,
                "name": p.name,
                "phase_title": p.phase_title,
                "round": p.round,
                "seq": p.seq,
                "since": p.updated_at,
                "blockers": p.waiting_on,
                **dated,
            }
            (advance if p.can_advance else blocked).append(entry)
    return {
        "tasks": sorted(tasks, key=first_due),
        "sign": sorted(sign, key=first_due),
        "advance": sorted(advance, key=first_due),
        "blocked": sorted(blocked, key=first_due),
    }


def first_due(item: dict[str, Any]) -> tuple[bool, str, str]:
    """My work's order: overdue first, then the earliest due date (undated last), then the oldest."""
    return (not item["overdue"], item["due"] or NO_DUE, str(item["since"]))
