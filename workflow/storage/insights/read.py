"""The insights' sums: a handful of ``GROUP BY`` queries over the summary tables, each returning a few
hundred counted rows however many projects there are (``domain/insights/report.py`` turns them into
figures). Filters and what the viewer may read become one ``WHERE`` on each table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from workflow.domain.insights.report import Counts, add_count
from workflow.domain.schedule.workdays import ordinal
from workflow.domain.vocabulary import ACTIVE
from workflow.storage.tables import approvals as t_approvals
from workflow.storage.tables import assignments as t_assignments
from workflow.storage.tables import insight_projects as t_ip
from workflow.storage.tables import insight_signatures as t_is
from workflow.storage.tables import insight_visits as t_iv
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import tasks as t_tasks
from workflow.storage.transaction import ReadTx


@dataclass(frozen=True)
class Scope:
    """Which rows count: template version ids (None: all), a client, a window of days, and the
    viewer whose projects alone count (None: every project)."""

    template_ids: tuple[int, ...] | None
    client: str | None
    since: str | None  # YYYY-MM-DD, inclusive
    until: str | None  # YYYY-MM-DD, inclusive
    reader: str | None


def _where(table: Any, scope: Scope, start: Any, end: Any) -> list[ColumnElement[bool]]:
    """The scope as conditions on ``table``; ``start``/``end``: the row's time span (end None: open)."""
    out: list[ColumnElement[bool]] = []
    if scope.template_ids is not None:
        out.append(table.c.template_id.in_(scope.template_ids))
    if scope.client is not None:
        out.append(table.c.client == scope.client)
    if scope.until is not None:
        out.append(start <= f"{scope.until}T23:59:59.999999Z")
    if scope.since is not None:
        out.append(end >= scope.since if end is start else or_(end.is_(None), end >= scope.since))
    if scope.reader is not None:
        out.append(
            table.c.project_id.in_(
                select(t_assignments.c.project_id).where(t_assignments.c.person == scope.reader)
            )
        )
    return out


def _today_ord(tx: ReadTx, table: Any, today: str) -> ColumnElement[int]:
    """Today's working-day ordinal on each row's calendar, as a SQL expression."""
    calendars = [c for (c,) in tx.core(select(table.c.calendar).distinct()) if c is not None]
    plain = ordinal(today, None)
    if not calendars:
        return literal(plain)
    return case({c: ordinal(today, c) for c in calendars}, value=table.c.calendar, else_=plain)


def _so_far(table: Any, today_ord: ColumnElement[int], start: Any) -> ColumnElement[int]:
    """Working days a running row has taken up to today, holds excluded (a lower bound)."""
    held_now = case((table.c.held_since_ord.is_(None), 0), else_=today_ord - table.c.held_since_ord)
    return today_ord - start - table.c.held_days - held_now


def counts(
    tx: ReadTx, scope: Scope, today: str, lead_roles: dict[int, str] | None, viewer: str | None
) -> Counts:
    """Every sum the figures need. ``lead_roles`` (template id -> its lead role): names of the slowest
    signers only from the projects ``viewer`` leads; None: all names; {}: none."""
    c = Counts()
    v = t_iv
    vw = _where(v, scope, v.c.entered_at, v.c.left_at)
    for tid, phase, outcome, late, n, held in tx.core(
        select(v.c.template_id, v.c.phase, v.c.outcome, v.c.late, func.count(), func.sum(v.c.held_days))
        .where(*vw)
        .group_by(v.c.template_id, v.c.phase, v.c.outcome, v.c.late)
    ):
        k = (tid, phase)
        c.outcomes[k][outcome] = c.outcomes[k].get(outcome, 0) + n
        if outcome in ("passed", "rejected"):
            flag = None if late is None else bool(late)
            c.timeliness[k][flag] = c.timeliness[k].get(flag, 0) + n
            c.held[k] += int(held or 0)
    ended = v.c.outcome.in_(("passed", "rejected"))
    for tid, phase, days, n in tx.core(
        select(v.c.template_id, v.c.phase, v.c.days, func.count())
        .where(*vw, ended)
        .group_by(v.c.template_id, v.c.phase, v.c.days)
    ):
        add_count(c.phase_days[(tid, phase)], int(days), n)
    so_far = _so_far(v, _today_ord(tx, v, today), v.c.entered_ord).label("so_far")
    for tid, phase, days, n in tx.core(
        select(v.c.template_id, v.c.phase, so_far, func.count())
        .where(*vw, v.c.outcome == "running")
        .group_by(v.c.template_id, v.c.phase, so_far)
    ):
        add_count(c.running_days[(tid, phase)], max(0, int(days)), n)
    for tid, phase, days, n in tx.core(
        select(v.c.template_id, v.c.phase, v.c.gate_days, func.count())
        .where(*vw, v.c.outcome == "passed", v.c.gate_days.is_not(None))
        .group_by(v.c.template_id, v.c.phase, v.c.gate_days)
    ):
        add_count(c.gate_days[(tid, phase)], int(days), n)
    for tid, phase, reason, n in tx.core(
        select(v.c.template_id, v.c.phase, v.c.reason, func.count())
        .where(*vw, v.c.outcome == "rejected")
        .group_by(v.c.template_id, v.c.phase, v.c.reason)
    ):
        c.reasons[(tid, phase)][reason or ""] = c.reasons[(tid, phase)].get(reason or "", 0) + n

    s = t_is
    sw = _where(s, scope, s.c.signed_at, s.c.signed_at)
    for tid, role, days, n in tx.core(
        select(s.c.template_id, s.c.role, s.c.days, func.count())
        .where(*sw)
        .group_by(s.c.template_id, s.c.role, s.c.days)
    ):
        add_count(c.sign_days[(tid, role)], int(days), n)
    if lead_roles is None or lead_roles:
        named = list(sw)
        if lead_roles:
            led = select(t_assignments.c.project_id).where(t_assignments.c.person == viewer)
            named.append(
                or_(
                    *(
                        and_(
                            s.c.template_id == tid,
                            s.c.project_id.in_(led.where(t_assignments.c.role == role)),
                        )
                        for tid, role in lead_roles.items()
                    )
                )
            )
        for tid, role, person, n, total, worst in tx.core(
            select(
                s.c.template_id, s.c.role, s.c.person, func.count(), func.sum(s.c.days), func.max(s.c.days)
            )
            .where(*named)
            .group_by(s.c.template_id, s.c.role, s.c.person)
        ):
            c.signers[(tid, role)].append((person, n, int(total), int(worst)))

    p = t_ip
    pw = _where(p, scope, p.c.created_at, p.c.ended_at)
    for tid, status, days, n in tx.core(
        select(p.c.template_id, p.c.status, p.c.days, func.count())
        .where(*pw, p.c.status != "running")
        .group_by(p.c.template_id, p.c.status, p.c.days)
    ):
        add_count(c.cycles[tid][status], int(days), n)
    so_far = _so_far(p, _today_ord(tx, p, today), p.c.created_ord).label("so_far")
    for tid, days, n in tx.core(
        select(p.c.template_id, so_far, func.count())
        .where(*pw, p.c.status == "running")
        .group_by(p.c.template_id, so_far)
    ):
        add_count(c.cycles[tid]["running"], max(0, int(days)), n)
    month = func.substr(p.c.ended_at, 1, 7).label("month")
    for tid, m, days, n in tx.core(
        select(p.c.template_id, month, p.c.days, func.count())
        .where(*pw, p.c.status == "completed")
        .group_by(p.c.template_id, month, p.c.days)
    ):
        add_count(c.trend[(tid, m)], int(days), n)
    return c


def overdue(tx: ReadTx, scope: Scope, today: str) -> list[Any]:
    """The active projects past their due date today, oldest due date first (the projects table)."""
    pr = t_projects
    where = [pr.c.status == ACTIVE, pr.c.due_on < today]
    if scope.template_ids is not None:
        where.append(pr.c.template_id.in_(scope.template_ids))
    if scope.client is not None:
        where.append(pr.c.client == scope.client)
    if scope.reader is not None:
        where.append(
            pr.c.id.in_(select(t_assignments.c.project_id).where(t_assignments.c.person == scope.reader))
        )
    return list(
        tx.core(
            select(
                pr.c.id,
                pr.c.code,
                pr.c.name,
                pr.c.template_id,
                pr.c.phase,
                pr.c.round,
                pr.c.due_on,
                pr.c.calendar,
            )
            .where(*where)
            .order_by(pr.c.due_on, pr.c.code)
        )
    )


def done_in_round(tx: ReadTx, rows: Iterable[Any]) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """(tasks done, signatures given) by project id, in each project's current round."""
    rows = list(rows)
    tasks: dict[int, set[str]] = {r.id: set() for r in rows}
    signed: dict[int, set[str]] = {r.id: set() for r in rows}
    if not rows:
        return tasks, signed
    current = {(r.id, r.phase, r.round) for r in rows}
    for table, into in ((t_tasks, tasks), (t_approvals, signed)):
        for pid, phase, rnd, role in tx.core(
            select(table.c.project_id, table.c.phase, table.c.round, table.c.role).where(
                table.c.project_id.in_(list(tasks))
            )
        ):
            if (pid, phase, rnd) in current:
                into[pid].add(role)
    return tasks, signed
