"""The insights' sums: a handful of ``GROUP BY`` queries over the summary tables, each returning a few
hundred counted rows however many projects there are (``domain/insights/report.py`` turns them into
figures). Filters and what the viewer may read become one ``WHERE`` on each table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
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


def _so_far(today: str, calendar: str | None, start: int, held: int, held_since: int | None) -> int:
    """Working days a running row has taken up to today, holds excluded (a lower bound, never below 0)."""
    now = ordinal(today, calendar)
    return max(0, now - start - held - (0 if held_since is None else now - held_since))


def counts(
    tx: ReadTx, scope: Scope, today: str, lead_roles: dict[int, str] | None, viewer: str | None
) -> Counts:
    """Every sum the figures need, in one scan of each summary table's covering index (grouped in the
    index's order, so nothing is sorted), plus the rejection reasons. ``lead_roles`` (template id -> its
    lead role): names of the slowest signers only from the projects ``viewer`` leads; None: all
    names; {}: none."""
    c = Counts()
    v = t_iv
    vw = _where(v, scope, v.c.entered_at, v.c.left_at)
    keys = (v.c.template_id, v.c.phase, v.c.outcome, v.c.late, v.c.days, v.c.gate_days)
    for tid, phase, outcome, late, days, gate_days, n, held in tx.core(
        select(*keys, func.count(), func.sum(v.c.held_days)).where(*vw).group_by(*keys)
    ):
        k = (tid, phase)
        c.outcomes[k][outcome] = c.outcomes[k].get(outcome, 0) + n
        if outcome in ("passed", "rejected"):
            flag = None if late is None else bool(late)
            c.timeliness[k][flag] = c.timeliness[k].get(flag, 0) + n
            c.held[k] += int(held or 0)
            add_count(c.phase_days[k], int(days), n)
            if outcome == "passed" and gate_days is not None:
                add_count(c.gate_days[k], int(gate_days), n)
    running = (v.c.template_id, v.c.phase, v.c.calendar, v.c.entered_ord, v.c.held_days, v.c.held_since_ord)
    for tid, phase, cal, start, held, since, n in tx.core(
        select(*running, func.count()).where(v.c.outcome == "running", *vw).group_by(*running)
    ):
        add_count(c.running_days[(tid, phase)], _so_far(today, cal, start, held, since), n)
    for tid, phase, reason, n in tx.core(
        select(v.c.template_id, v.c.phase, v.c.reason, func.count())
        .where(v.c.outcome == "rejected", *vw)
        .group_by(v.c.template_id, v.c.phase, v.c.reason)
    ):
        c.reasons[(tid, phase)][reason or ""] = c.reasons[(tid, phase)].get(reason or "", 0) + n

    s = t_is
    sw = _where(s, scope, s.c.signed_at, s.c.signed_at)
    signed = (s.c.template_id, s.c.role, s.c.person, s.c.days)
    per_person: dict[tuple[int, str, str], list[int]] = {}
    for tid, role, person, days, n in tx.core(select(*signed, func.count()).where(*sw).group_by(*signed)):
        add_count(c.sign_days[(tid, role)], int(days), n)
        if lead_roles is None:
            _signer(per_person, (tid, role, person), int(days), n)
    if lead_roles:
        led = select(t_assignments.c.project_id).where(t_assignments.c.person == viewer)
        mine = or_(
            *(
                and_(s.c.template_id == tid, s.c.project_id.in_(led.where(t_assignments.c.role == role)))
                for tid, role in lead_roles.items()
            )
        )
        for tid, role, person, days, n in tx.core(
            select(*signed, func.count()).where(*sw, mine).group_by(*signed)
        ):
            _signer(per_person, (tid, role, person), int(days), n)
    for (tid, role, person), (n, total, worst) in per_person.items():
        c.signers[(tid, role)].append((person, n, total, worst))

    p = t_ip
    pw = _where(p, scope, p.c.created_at, p.c.ended_at)
    month = func.substr(p.c.ended_at, 1, 7).label("month")
    for tid, status, days, m, n in tx.core(
        select(p.c.template_id, p.c.status, p.c.days, month, func.count())
        .where(p.c.status.in_(("completed", "cancelled")), *pw)
        .group_by(p.c.template_id, p.c.status, p.c.days, month)
    ):
        add_count(c.cycles[tid][status], int(days), n)
        if status == "completed":
            add_count(c.trend[(tid, m)], int(days), n)
    still = (p.c.template_id, p.c.calendar, p.c.created_ord, p.c.held_days, p.c.held_since_ord)
    for tid, cal, start, held, since, n in tx.core(
        select(*still, func.count()).where(p.c.status == "running", *pw).group_by(*still)
    ):
        add_count(c.cycles[tid]["running"], _so_far(today, cal, start, held, since), n)
    return c


def _signer(
    into: dict[tuple[int, str, str], list[int]], key: tuple[int, str, str], days: int, n: int
) -> None:
    """One person's signatures, their total and their longest wait, added up."""
    had = into.setdefault(key, [0, 0, 0])
    had[0] += n
    had[1] += days * n
    had[2] = max(had[2], days)


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
