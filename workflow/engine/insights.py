"""``Engine.insights``: where projects spend their time, which gates send work back, who holds things
up (issue 25), across every project the viewer may read.

One read transaction: the sums over the summary tables (``storage/insights/read.py``) and the
overdue projects, turned into figures by ``domain/insights/report.py``. The CLI, the HTTP endpoint
and the web page all call this, so they cannot disagree.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from workflow.domain import inputs
from workflow.domain.identity import Identity, acting
from workflow.domain.insights.report import OVERDUE_LISTED, Insights, Overdue, Version, build
from workflow.domain.schedule.workdays import days_left, parse_day
from workflow.domain.vocabulary import READ_EVERYTHING
from workflow.errors import NotFound, UsageError
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.insights.read import Scope, counts, done_in_round, overdue
from workflow.storage.store import Store
from workflow.storage.tables import templates as t_templates
from workflow.storage.transaction import ReadTx, run_read


def insights(
    store: Store,
    *,
    viewer: str | Identity | None,
    template: str | None = None,
    version: int | None = None,
    client: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Insights:
    """The figures over the projects ``viewer`` may read (admins and auditors: all; None: a trusted
    caller, all), filtered to a template (and one of its versions), a client and a window of days
    (``since``/``until``, ``YYYY-MM-DD`` inclusive: a round counts if it overlapped the window, a
    signature if given in it, a project if it ran in it). Names of the slowest signers only to admins,
    and to the leads of the projects they signed on."""
    if version is not None and template is None:
        raise UsageError("--version needs --template: a version number belongs to one template")
    since = None if since is None else parse_day(since).isoformat()
    until = None if until is None else parse_day(until).isoformat()
    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    client = inputs.text(client, "the client", max_len=200, multiline=False) if client else None
    who = None if viewer is None else acting(viewer, "the viewer")
    now = utcnow()
    today = now[:10]

    def work(tx: ReadTx) -> Insights:
        privileges = frozenset({"admin"}) if who is None else privileges_of(tx, who.person)
        reads_all = not READ_EVERYTHING.isdisjoint(privileges)
        versions = _versions(tx)
        ids = None
        if template is not None:
            ids = tuple(
                v.id for v in versions if v.key == template and (version is None or v.version == version)
            )
            if not ids:
                what = template if version is None else f"{template} version {version}"
                raise NotFound(f"there is no template {what}")
        scope = Scope(ids, client, since, until, None if reads_all else who.person if who else None)
        admin = "admin" in privileges
        lead_roles = None if admin else {v.id: v.definition.lead for v in versions}
        summed = counts(tx, scope, today, lead_roles, who.person if who else None)
        late_rows = overdue(tx, scope, today)
        for r in late_rows:
            summed.overdue_now[(r.template_id, r.phase)] += 1
        figures, trend = build(summed, versions)
        by_id = {v.id: v for v in versions}
        listed = late_rows[:OVERDUE_LISTED]
        tasks, signed = done_in_round(tx, listed)
        stuck = []
        for r in listed:
            v = by_id[r.template_id]
            phase = v.definition.phase(r.phase)
            if phase is None:
                continue
            missing_tasks = tuple(role for role in phase.task_roles if role not in tasks[r.id])
            missing_signatures = tuple(
                role for role in (phase.gate.approvers if phase.gate else ()) if role not in signed[r.id]
            )
            waiting, roles = ("tasks", missing_tasks) if missing_tasks else ("signatures", missing_signatures)
            late_by = days_left(r.due_on, date.fromisoformat(today), r.calendar)
            stuck.append(
                Overdue(
                    r.code,
                    r.name,
                    v.key,
                    v.version,
                    r.phase,
                    phase.title,
                    r.round,
                    r.due_on,
                    None if late_by is None else -late_by,
                    waiting,
                    roles,
                )
            )
        filters = {"template": template, "version": version, "client": client, "since": since, "until": until}
        return Insights(
            now,
            today,
            filters,
            "all" if reads_all else "readable",
            "all" if admin else "led",
            figures,
            trend,
            tuple(stuck),
            len(late_rows),
        )

    return run_read(store, work)


def _versions(tx: ReadTx) -> list[Version]:
    rows = tx.core(
        select(t_templates.c.id, t_templates.c.key, t_templates.c.version, t_templates.c.title).order_by(
            t_templates.c.key, t_templates.c.version
        )
    )
    return [Version(r.id, r.key, r.version, r.title, tx.template(r.id).definition) for r in rows]
