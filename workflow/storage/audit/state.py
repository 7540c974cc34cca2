"""Replaying every chain and comparing the result with the state tables, streaming in chain order.

The hash pass (:mod:`workflow.storage.audit.verify`) proves each chain consistent with itself;
it cannot see a ``projects`` row edited, a task or approval row inserted, or a
``grants`` row that makes someone an admin, because those tables are not hashed. They
are a cache of the history, written in the same transaction as each event, so this
pass replays every chain (:mod:`workflow.domain.audit.replay`) and compares the replay with
the rows (:mod:`workflow.domain.audit.state_check`, which names the first difference).

Constant memory, as the hash pass: the events are read in chain order, and beside
them the projects (with the template version each is pinned to) and the assignments,
tasks and approvals joined to their project, every stream ordered by the project's
code: merge joins, one chain's state in memory at a time. SQLite reads each stream
along the code index and the tables' primary keys without sorting
(``tests/design/test_design_guards.py``). The system chain's replay is compared with the
``grants`` and ``templates`` rows when its last event is read.

It runs after the hash pass, only when every chain is intact, in the same
transaction (so on PostgreSQL in the same REPEATABLE READ snapshot), in one process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from hashlib import sha256
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from workflow.domain.audit.events import SYSTEM_CHAIN, ParsedEvent, parse_data
from workflow.domain.audit.replay import Replay, Unreplayable
from workflow.domain.audit.state_check import (
    Key,
    StoredProject,
    accounts_difference,
    chain_difference,
    compiled_differs,
    delegations_difference,
    grants_difference,
    notifications_difference,
    templates_difference,
    uncreated_row,
)
from workflow.domain.audit.system_replay import SystemReplay
from workflow.domain.credentials import password_fingerprint, secret_hash
from workflow.domain.results import STATE_DIFFERS, UNREPLAYABLE, BrokenEvent
from workflow.domain.templates.definition import Definition
from workflow.storage.audit.verify import EVERY_CHAIN, ProjectStream, events_in_order, in_range, open_cursor
from workflow.storage.tables import approvals as t_approvals
from workflow.storage.tables import assignments as t_assignments
from workflow.storage.tables import delegations as t_delegations
from workflow.storage.tables import grants as t_grants
from workflow.storage.tables import notify_settings as t_settings
from workflow.storage.tables import people as t_people
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import tasks as t_tasks
from workflow.storage.tables import templates as t_templates
from workflow.storage.tables import timers as t_timers
from workflow.storage.tables import tokens as t_tokens
from workflow.storage.tables import webhooks as t_webhooks

_p, _t = t_projects.c, t_templates.c
# A project row as StoredProject holds it, after its code and id.
PROJECT_COLUMNS = (_p.code, _p.id, _p.name, _p.client, _p.phase, _p.round, _p.status, _p.rounds, _p.seq,
                   _p.head_hash, _p.created_at, _p.updated_at, _p.hold_seq, _p.rejection_seq, _p.calendar,
                   _p.starts_on, _p.due_on, _p.planned_due, _p.gate_opened_at, _p.next_tick_at,
                   _p.template_id,
                   _t.key, _t.version, _t.sha256)
# Each table of a project's rows: the table, its key columns after project_id, the compared columns
# (in state_check's ASSIGNMENTS, TASKS, APPROVALS and TIMERS order).
CHILDREN = (
    (t_assignments, ("role", "person"), ("assigned_at", "assigned_by", "seq")),
    (t_tasks, ("phase", "round", "role"), ("person", "note", "done_at", "seq", "auth", "on_behalf_of")),
    (t_approvals, ("phase", "round", "role"), ("person", "comment", "approved_at", "seq", "auth",
                                                            "on_behalf_of")),
    (t_timers, ("phase", "round", "kind", "person"), ("seq",)),
)

ChildRows = list[tuple[Key, tuple[Any, ...]]]


def projects_in_order(chain: str | None) -> Select[Any]:
    """Every project row (or ``chain``'s) with its pinned template version, in code order."""
    joined = t_projects.outerjoin(t_templates, _t.id == _p.template_id)
    stmt = in_range(select(*PROJECT_COLUMNS).select_from(joined), _p.code, chain, EVERY_CHAIN)
    return stmt.order_by(_p.code)


def children_in_order(table: Any, keys: tuple[str, ...], fields: tuple[str, ...],
                      chain: str | None) -> Select[Any]:
    """``table``'s rows with their project's code first, in code order (no sort on SQLite: the plan
    walks the code index and probes the table's primary key, which starts with project_id)."""
    columns = [_p.code, *(table.c[k] for k in keys), *(table.c[f] for f in fields)]
    stmt = select(*columns).select_from(table.join(t_projects, _p.id == table.c.project_id))
    return in_range(stmt, _p.code, chain, EVERY_CHAIN).order_by(_p.code)


class _Runs:
    """One stream of rows ordered by projects.code: a project's rows are the next run of its code.

    The stream and the projects' are ordered by the same column, so they agree exactly;
    a project passed over (or taken) takes its run with it.
    """

    def __init__(self, cursor: Any, keys: int) -> None:
        self._rows = iter(cursor)
        self._next: Any = next(self._rows, None)
        self._keys = keys

    def take(self, code: str) -> ChildRows:
        out, k, nxt = [], 1 + self._keys, self._next
        while nxt is not None and nxt[0] == code:
            out.append((tuple(nxt[1:k]), tuple(nxt[k:])))
            nxt = next(self._rows, None)
        self._next = nxt
        return out


def _sorted(rows: ChildRows) -> ChildRows:
    """A chain's rows in key order, whatever order the database gave them (for a stable first difference).

    SQLite gives them in key order already (timsort then only checks); the keys are unique,
    so the compared fields are never compared. A key of mixed types (a value of another type
    stored with SQL) sorts by its text instead.
    """
    try:
        rows.sort()
    except TypeError:
        rows.sort(key=lambda r: tuple(str(part) for part in r[0]))
    return rows


class _StoredState(ProjectStream):
    """The projects and their rows, read in the events' order beside them (as verify's _ProjectHeads).

    A chain that is not the next project is looked up by code: no row (the hash pass has
    named that already), or projects passed over on the way that have no events. Only if
    ``events.chain`` and ``projects.code`` were given different collations is a looked-up
    project behind the stream; its rows are then read directly.
    """

    def __init__(self, conn: Connection, cursors: list[Any]) -> None:
        self._conn = conn
        self.definitions = _Definitions(conn)
        self._rows = iter(cursors[0])
        self._next = next(self._rows, None)
        self._children = [_Runs(cur, len(keys)) for cur, (_, keys, _) in zip(cursors[1:], CHILDREN,
                                                                                 strict=True)]

    def take(self, name: str) -> tuple[StoredProject | None, list[ChildRows]]:
        if self._next is not None and self._next[0] == name:
            return self._consume()
        found = self._conn.execute(projects_in_order(name)).first()
        if found is None:
            return None, [[] for _ in CHILDREN]
        while self._next is not None and self._next[0] != name:
            self._pass_over()
        if self._next is not None:
            return self._consume()
        return StoredProject(*found[2:]), [self._direct(name, *child) for child in CHILDREN]

    def _direct(self, name: str, table: Any, keys: tuple[str, ...], fields: tuple[str, ...]) -> ChildRows:
        k = 1 + len(keys)
        return [(tuple(r[1:k]), tuple(r[k:])) for r in self._conn.execute(
            children_in_order(table, keys, fields, name))]

    def _consume(self) -> tuple[StoredProject | None, list[ChildRows]]:
        row = self._next
        self._next = next(self._rows, None)
        return StoredProject(*row[2:]), [runs.take(row[0]) for runs in self._children]

    def _pass_over(self) -> None:
        code = self._next[0]
        for runs in self._children:
            runs.take(code)
        if self._passed is None:
            self._passed = code
        self._next = next(self._rows, None)

    def _owing(self) -> Select[Any]:
        """Every project: a project row is made with its first event."""
        return select(_p.code)


@contextmanager
def _streams(conn: Connection, chain: str | None) -> Iterator[tuple[_StoredState, Any]]:
    """The stored state and the events, all in chain order, all closed however the pass ends."""
    cursors: list[Any] = []
    try:
        cursors.append(open_cursor(conn, projects_in_order(chain), "phasegate_state_projects"))
        for table, keys, fields in CHILDREN:
            stmt = children_in_order(table, keys, fields, chain)
            cursors.append(open_cursor(conn, stmt, f"phasegate_state_{table.name}"))
        stored = _StoredState(conn, cursors)
        cursors.append(open_cursor(conn, events_in_order(chain), "phasegate_state_events"))
        yield stored, cursors[-1]
    finally:
        for cursor in cursors:
            cursor.close()


def verify_state(conn: Connection, chain: str | None = None) -> BrokenEvent | None:
    """Replay every chain (or ``chain``) and name the first state row that is not what the history says.

    Every chain must be intact (the hash pass ran first): this pass trusts the events.
    """
    with _streams(conn, chain) as (stored, cursor):
        broken = _walk(conn, cursor, stored, chain is None)
        if broken is not None or chain is not None:
            return broken
        if (code := stored.chainless()) is not None:
            return BrokenEvent(code, 1, STATE_DIFFERS, uncreated_row(code))
    return None


def _walk(conn: Connection, cursor: Any, stored: _StoredState, whole: bool) -> BrokenEvent | None:
    """Every chain replayed event by event; the first difference (or None) once each chain ends.

    ``whole``: every chain is read, so a system chain without events still has its tables checked.
    """
    current: str | None = None
    state: Replay | SystemReplay | None = None
    apply: Callable[[ParsedEvent], None] = Replay("").apply  # replaced at the first row (current is None)
    parse = parse_data
    system_read = False
    try:
        for name, seq, at, actor, action, phase, data, prev_hash, digest in cursor:
            if name != current:
                if state is not None and (broken := _ended(conn, state, stored)):
                    return broken
                current = name
                system_read = system_read or name == SYSTEM_CHAIN
                state = SystemReplay() if name == SYSTEM_CHAIN else Replay(name)
                apply = state.apply
            apply(ParsedEvent(name, seq, at, actor, action, phase, parse(data), prev_hash, digest))
    except Unreplayable as exc:
        return BrokenEvent(exc.chain, exc.seq, UNREPLAYABLE, exc.reason)
    if state is not None and (broken := _ended(conn, state, stored)):
        return broken
    return _system(conn, SystemReplay()) if whole and not system_read else None


def _ended(conn: Connection, state: Replay | SystemReplay, stored: _StoredState) -> BrokenEvent | None:
    """A chain's last event was applied: compare its replay with its rows."""
    if isinstance(state, SystemReplay):
        return _system(conn, state)
    row, (team, tasks, approvals, timers) = stored.take(state.code)
    definition = None if row is None else stored.definitions.get(row.template_id)
    detail = chain_difference(state, row, _sorted(team), _sorted(tasks), _sorted(approvals), _sorted(timers),
                              definition, stored.definitions.admins)
    return None if detail is None else BrokenEvent(state.code, state.seq, STATE_DIFFERS, detail)


class _Definitions:
    """The pinned template versions' definitions, each read once a pass (for the clock's moments),
    and who holds admin (whom an escalation ``to: admin`` tells), read once when first asked."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._loaded: dict[int, Definition | None] = {}
        self._admins: list[str] | None = None

    def get(self, template_id: int) -> Definition | None:
        """The definition ``template_id`` pins (None: no such row, or one that does not load)."""
        if template_id not in self._loaded:
            self._loaded[template_id] = _definition(self._conn, template_id)
        return self._loaded[template_id]

    @property
    def admins(self) -> list[str]:
        if self._admins is None:
            g = t_grants.c
            self._admins = list(self._conn.execute(select(g.person).where(g.privilege == "admin")).scalars())
        return self._admins


def _definition(conn: Connection, template_id: int) -> Definition | None:
    from workflow.domain.templates.definition import definition_from_dict
    from workflow.domain.templates.loader import load_definition
    from workflow.errors import DefinitionError

    row = conn.execute(select(_t.compiled, _t.source).where(_t.id == template_id)).first()
    if row is None:
        return None
    try:
        if row.compiled:
            return definition_from_dict(json.loads(row.compiled))
        return load_definition(row.source, source="<published template>")
    except (DefinitionError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _system(conn: Connection, replayed: SystemReplay) -> BrokenEvent | None:
    """The grants, templates, people, tokens, webhooks and notify_settings rows against the system
    chain's replay (streamed in key order)."""
    g = t_grants.c
    grants = ((tuple(r[:2]), tuple(r[2:])) for r in conn.execute(
        select(g.person, g.privilege, g.granted_by).order_by(g.person, g.privilege)))
    published = select(_t.key, _t.version, _t.sha256, _t.title, _t.published_by, _t.source)
    templates = ((tuple(r[:2]), (r[2], r[3], r[4], _digest(r[5])))
                 for r in conn.execute(published.order_by(_t.key, _t.version)))
    p, k = t_people.c, t_tokens.c
    people = (((r[0],), (r[1], r[2], bool(r[3]), r[4] is not None, _fingerprint(r[4])))
              for r in conn.execute(select(p.login, p.display_name, p.email, p.active, p.password_hash)
                                    .order_by(p.login)))
    tokens = (((r[0],), (r[1], r[2], r[3], r[4] is not None, r[5])) for r in conn.execute(
        select(k.id, k.person, k.name, k.expires_at, k.revoked_at, k.secret_hash).order_by(k.id)))
    w, n = t_webhooks.c, t_settings.c
    hooks = (((r[0],), (r[1], _kinds(r[2]), r[3], bool(r[4]), r[5], secret_hash(r[6])[:12]))
             for r in conn.execute(select(w.id, w.url, w.kinds, w.format, w.active, w.created_by, w.secret)
                                   .order_by(w.id)))
    settings = (((r[0],), (_kinds(r[1]), r[2])) for r in conn.execute(
        select(n.person, n.email_kinds, n.calendar_key_hash).order_by(n.person)))
    d = t_delegations.c
    made = (((r[0],), (*r[1:5], _kinds(r[5]), *r[6:])) for r in conn.execute(
        select(d.id, d.person, d.delegate, d.starts_on, d.until, d.roles, d.project, d.reason, d.created_by,
               d.created_at, d.ended_at, d.ended_by, d.seq).order_by(d.id)))
    detail = (grants_difference(replayed, grants) or templates_difference(replayed, templates)
              or _compiled(conn) or accounts_difference(replayed, people, tokens)
              or notifications_difference(replayed, hooks, settings)
              or delegations_difference(replayed, made))
    return None if detail is None else BrokenEvent(SYSTEM_CHAIN, replayed.seq, STATE_DIFFERS, detail)


def _fingerprint(password_hash: Any) -> str | None:
    """A stored password hash as the record keeps it (its sha256); None for none."""
    return None if password_hash is None else password_fingerprint(str(password_hash))


def _kinds(stored: Any) -> Any:
    """A stored JSON list of kinds as the tuple replay holds (None stays None; unreadable text as is)."""
    if stored is None:
        return None
    try:
        kinds = json.loads(stored)
    except (TypeError, ValueError):
        return stored
    return tuple(kinds) if isinstance(kinds, list) else stored


def _digest(source: Any) -> str | None:
    return sha256(source.encode("utf-8")).hexdigest() if isinstance(source, str) else None


def _compiled(conn: Connection) -> str | None:
    """The first template version whose ``compiled`` definition (what commands read) is not its source's.

    Run once every source is known to be the text the history recorded the sha256 of.
    """
    rows = conn.execute(select(_t.key, _t.version, _t.source, _t.compiled).order_by(_t.key, _t.version))
    for key, version, source, compiled in rows:
        if compiled is not None and not _describes(source, compiled):
            return compiled_differs(key, version)
    return None


# (sha256 of source, sha256 of compiled) -> whether they agree: a published version never changes,
# so a process verifying again (the tests, a server) loads each template's YAML once.
_DESCRIBES: dict[tuple[str, str], bool] = {}


def _describes(source: str, compiled: str) -> bool:
    """Whether ``compiled`` is the definition ``source`` loads to."""
    from workflow.domain.templates.definition import definition_from_dict
    from workflow.domain.templates.loader import load_definition
    from workflow.errors import DefinitionError

    key = (sha256(source.encode("utf-8")).hexdigest(), sha256(compiled.encode("utf-8")).hexdigest())
    if key in _DESCRIBES:
        return _DESCRIBES[key]
    try:
        loaded = load_definition(source, source="<published template>")
    except DefinitionError:
        return True  # a text today's loader refuses: the engine reads only ``compiled`` for it
    try:
        agrees = definition_from_dict(json.loads(compiled)) == loaded
    except (ValueError, KeyError, TypeError, AttributeError):
        agrees = False
    if len(_DESCRIBES) >= 256:
        _DESCRIBES.clear()
    _DESCRIBES[key] = agrees
    return agrees
