"""Reading projects: status (now or as it stood), the board, history, and completion helpers.

Every read of a project asks :func:`workflow.domain.rules.may_read`; ``reader=None``
(the Python API used as a library, trusted like the database file itself) reads all.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from sqlalchemy import select

from workflow.domain import inputs, paging, rules
from workflow.domain.audit.events import Event
from workflow.domain.audit.replay import replay
from workflow.domain.identity import Identity, acting
from workflow.domain.results import ProjectStatus
from workflow.domain.status import project_status
from workflow.domain.vocabulary import HISTORY_ACTIONS, STATUSES
from workflow.engine.links import status as signers
from workflow.engine.visibility import missing_project, readable_project
from workflow.errors import NotFound, UsageError
from workflow.storage import statements as sql
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.project_rows import recent_events
from workflow.storage.store import Store
from workflow.storage.tables import events as t_events
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import templates as t_templates
from workflow.storage.templates import template_row
from workflow.storage.transaction import ReadTx


def status(
    store: Store, code: str, *, reader: str | Identity | None = None, at: str | None = None
) -> ProjectStatus:
    """The project as it stands (or stood at ``at``): phase, round, tasks, gate, team, blockers."""
    if at is not None:
        return status_at(store, code, at, reader=reader)
    code = inputs.project_code(code)
    who = _reader(reader)

    def work(tx: ReadTx) -> ProjectStatus:
        state, _privileges = readable_project(tx, code, who)
        tpl, now = tx.template(state.template_id), utcnow()
        found = project_status(state, tpl, recent=recent_events(tx, state), now=now)
        return signers.named(tx, state, tpl.definition, found, now)

    return store.read(work)


def status_at(store: Store, code: str, at: str, *, reader: str | Identity | None = None) -> ProjectStatus:
    """The project as it stood at ``at`` (ISO 8601), rebuilt from its events up to and including then."""
    code = inputs.project_code(code)
    moment = inputs.normalize_time(at)
    who = _reader(reader)

    def work(tx: ReadTx) -> ProjectStatus:
        require_readable(tx, code, who)
        rows = tx.core(
            select(t_events).where(t_events.c.chain == code, t_events.c.at <= moment).order_by(t_events.c.seq)
        )
        past = replay(code, _before_the_first_later(Event.from_row(r) for r in rows))
        if past.seq == 0:
            raise NotFound(f"project {code} did not exist yet at {moment}")
        tpl = tx.template(template_row(tx, past.template["key"], past.template["version"]).id)
        state = past.state(tpl.id)
        return project_status(state, tpl, as_of=moment, recent=recent_events(tx, state))

    return store.snapshot(work)


def _before_the_first_later(events: Iterator[Event]) -> Iterator[Event]:
    """The chain's events up to the first one dated after the moment (the rows given are those dated
    at or before it, in order: the first gap in seq). A chain's times follow its order, except
    after an event dated ahead of its time (an older phasegate's ``tick --now``): the project as it
    stood then is what its history had recorded before that event."""
    for expected, event in enumerate(events, start=1):
        if event.seq != expected:
            return
        yield event


HISTORY_PAGE = 1000


def iter_history(store: Store, code: str, *, reader: str | Identity | None = None, since: str | None = None,
                 until: str | None = None, actor: str | None = None, action: str | None = None,
                 phase: str | None = None, last: int | None = None, after: int | None = None,
                 limit: int | None = None) -> Iterator[Event]:
    """The project's events, oldest first, filtered (``actor``: whose events; ``last``: the newest N),
    after seq ``after``, at most ``limit``: streamed a page at a time, each page its own short
    read, so a history of any length holds one page in memory."""
    code = inputs.project_code(code)
    who = _reader(reader)
    last = inputs.count(last, "the number of newest events (--last)")
    limit = inputs.count(limit, "the number of events (--limit)")
    start = 0 if after is None else _seq(after)
    begin, end = inputs.time_range(since, until)
    values: dict[str, Any] = {
        "chain": code,
        "since": begin,
        "until": end,
        "actor": None if actor is None else inputs.person(actor, "the actor filter"),
        "action": action,
        "phase": phase,
    }
    filters = tuple(name for name in sql.HISTORY_FILTERS if values[name] is not None)
    wanted = min(x for x in (last, limit, inputs.COUNT_MAX) if x is not None)
    one_page = last is not None and last <= HISTORY_PAGE

    def first(tx: ReadTx) -> list[Event]:
        require_readable(tx, code, who)
        check_history_filters(tx, code, action, phase)
        if one_page:  # the usual "newest N": one page, one read
            assert last is not None
            rows = tx.execute(sql.history(filters, True), **values, after=start, size=last).fetchall()
            return [Event(*r) for r in reversed(rows)][:wanted]
        begin = start
        if last is not None:  # where the newest N begin; then page forward from there
            found = tx.execute(sql.history_start(filters), **values, skip=last - 1).fetchone()
            begin = max(start, found[0] - 1) if found is not None else start
        return _history_page(tx, filters=filters, values=values, after=begin, size=min(HISTORY_PAGE, wanted))

    page = store.read(first)  # the reader and the filters are checked now, before anything is printed
    if one_page:
        return iter(page)
    fetch = paging.read_after(
        lambda after, size: store.read(partial(_history_page, filters=filters, values=values, after=after,
                                               size=size)),
        lambda e: e.seq)
    following = paging.next_after(page, min(HISTORY_PAGE, wanted), lambda e: e.seq)
    return paging.follow(fetch, page, following, wanted, HISTORY_PAGE)


def _history_page(
    tx: ReadTx, *, filters: tuple[str, ...], values: dict[str, Any], after: int, size: int
) -> list[Event]:
    rows = tx.execute(sql.history(filters, False), **values, after=after, size=size).fetchall()
    return [Event(*r) for r in rows]


def _seq(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= inputs.COUNT_MAX:
        raise UsageError(f"an event number must be a whole number from 0 to {inputs.COUNT_MAX:,}, "
                         f"not {inputs.shown(value)}")
    return value


def require_readable(tx: ReadTx, code: str, reader: str | None) -> None:
    """NotFound for a project that does not exist; NotPermitted unless ``reader`` may read it."""
    found = tx.execute(sql.MEMBERSHIP, reader=reader or "", code=code).fetchone()
    if found is None:
        raise missing_project(tx, code, reader)
    if reader is not None and not found[1]:  # not on the team: a grant, or a member's delegate in force
        privileges = privileges_of(tx, reader)
        if not rules.may_read(privileges, member=False):
            readable_project(tx, code, reader)


def project_codes(store: Store, prefix: str = "") -> list[str]:
    """Project codes starting with ``prefix`` (for shell completion)."""
    stmt = select(t_projects.c.code).where(t_projects.c.code.startswith(prefix, autoescape=True))
    return store.read(lambda tx: [r.code for r in tx.core(stmt.order_by(t_projects.c.code).limit(200))])


def project_roles(store: Store, code: str) -> list[str]:
    """The role keys of a project's template (for shell completion)."""

    def work(tx: ReadTx) -> list[str]:
        row = tx.core(select(t_projects.c.template_id).where(t_projects.c.code == code)).first()
        return [] if row is None else list(tx.template(row.template_id).definition.role_keys)

    return store.read(work)


def check_filters(tx: ReadTx, status: str | None, template: str | None, phase: str | None) -> None:
    """A filter naming a status, template or phase that does not exist is bad input, not "no projects"."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {inputs.shown(status)}; use one of: {', '.join(STATUSES)}")
    ids = select(t_templates.c.id, t_templates.c.key)
    if template is not None:
        ids = ids.where(t_templates.c.key == template)
    versions = tx.core(ids).all()
    if template is not None and not versions:
        keys = sorted({r.key for r in tx.core(select(t_templates.c.key))})
        raise UsageError(f"unknown template {inputs.shown(template)}; use one of: {', '.join(keys)}")
    if phase is not None:
        known = sorted({key for v in versions for key in tx.template(v.id).definition.phase_keys})
        if phase not in known:
            raise UsageError(f"unknown phase {inputs.shown(phase)}; use one of: {', '.join(known)}")


def check_history_filters(tx: ReadTx, code: str, action: str | None, phase: str | None) -> None:
    if action is not None and action not in HISTORY_ACTIONS:
        raise UsageError(f"unknown action {inputs.shown(action)}; use one of: {', '.join(HISTORY_ACTIONS)}")
    if phase is not None:
        template_id = tx.core(select(t_projects.c.template_id).where(t_projects.c.code == code)).scalar_one()
        known = tx.template(template_id).definition.phase_keys
        if phase not in known:
            raise UsageError(f"{code} has no phase {inputs.shown(phase)}; its phases: {', '.join(known)}")


def _reader(reader: str | Identity | None) -> str | None:
    """Who reads, by name (how they were authenticated does not change what they may read)."""
    return None if reader is None else acting(reader).person


def memberships(store: Store, person: str | Identity) -> dict[str, list[str]]:
    """project code -> the roles ``person`` holds on it."""
    from workflow.storage.tables import assignments as t_assignments

    who = acting(person).person
    stmt = (
        select(t_projects.c.code, t_assignments.c.role)
        .join(t_projects, t_projects.c.id == t_assignments.c.project_id)
        .where(t_assignments.c.person == who)
        .order_by(t_projects.c.code, t_assignments.c.role)
    )
    out: dict[str, list[str]] = {}
    for row in store.read(lambda tx: tx.core(stmt).all()):
        out.setdefault(row.code, []).append(row.role)
    return out
