"""Naming the first difference between a chain's replay and the rows that cache it.

The state tables (``projects``, ``assignments``, ``tasks``, ``approvals``, ``timers``;
``grants``, ``templates``, ``people``, ``tokens``, ``webhooks`` and ``notify_settings``
for the system chain) are a cache of the history that the engine writes in the same
transaction as each event, so replaying a chain must land on exactly its rows.
``audit verify`` replays every chain and hands each chain's stored rows here
(``workflow/storage/verify_state.py`` reads them); what comes back is one sentence
naming the table, the row, the field, the stored value and what the history says, or
None. The comparisons run in a fixed order (the project row, then its team, tasks,
approvals and notices given, then the clock's next moment; a table's rows in key order,
then the rows it lacks in event order), so two runs over the same database name the
same difference.

Credentials are compared through the sha256 their events carry (a token's secret hash,
a calendar key's hash, a password hash's own sha256); the clock's next moment, which
depends on when ticks ran, against the notices the round still owes
(:func:`next_tick_difference`). A value an older phasegate did not record
(:data:`~workflow.domain.audit.replay.UNRECORDED`) agrees with whatever is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from workflow.domain.audit.events import canonical_json
from workflow.domain.audit.replay import UNRECORDED, Replay
from workflow.domain.audit.system_replay import SystemReplay
from workflow.domain.inputs import shown
from workflow.domain.schedule.clock import Clock, due_now, moments
from workflow.domain.schedule.workdays import LAST_MOMENT, stored
from workflow.domain.templates.definition import Definition
from workflow.domain.vocabulary import ACTIVE

Key = tuple[Any, ...]
END_OF_TIME = stored(LAST_MOMENT)  # every moment has come: what a round still owes at all
# A table's stored rows: (primary key, the compared fields in the Table's order).
Rows = Iterable[tuple[Key, Sequence[Any]]]
# What the history says the rows are: key -> (the fields, the event that wrote them).
Expected = Mapping[Key, tuple[Sequence[Any], int]]


class StoredProject(NamedTuple):
    """A ``projects`` row with the template version its ``template_id`` names (None: no such row)."""

    name: str | None
    client: str | None
    phase: str
    round: int
    status: str
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
    planned_due: str | None
    gate_opened_at: str | None
    next_tick_at: str | None
    template_id: int
    template_key: str | None
    template_version: int | None
    template_sha256: str | None


# The fields of a project row that replay rebuilds, in the order they are compared.
PROJECT_FIELDS = ("name", "client", "phase", "round", "status", "rounds", "seq", "head_hash", "created_at",
                  "updated_at", "hold_seq", "rejection_seq", "calendar", "starts_on", "due_on", "planned_due",
                  "gate_opened_at")


def _value(value: Any) -> str:
    """A stored or replayed value quoted for the sentence (long enough for a whole sha256)."""
    return shown(value, 80)


def _plain(value: Any) -> str:
    """A key part as it reads in a sentence: escaped and shortened like a quoted value, without quotes."""
    return shown(value, 40)[1:-1]


def _slashed(key: Key) -> str:
    return "/".join(_plain(part) for part in key)


@dataclass(frozen=True)
class Table:
    """A state table as the comparison names it: its fields and what the event that wrote a row did."""

    name: str
    fields: tuple[str, ...]
    verb: str
    label: Callable[[Key], str] = _slashed


ASSIGNMENTS = Table("assignments", ("assigned_at", "assigned_by", "seq"), "assigned")
TASKS = Table("tasks", ("person", "note", "done_at", "seq", "auth", "on_behalf_of"), "recorded")
APPROVALS = Table("approvals", ("person", "comment", "approved_at", "seq", "auth", "on_behalf_of"),
                  "recorded")
TIMERS = Table("timers", ("seq",), "gave")
GRANTS = Table("grants", ("granted_by",), "granted")
PEOPLE = Table("people", ("display_name", "email", "active", "has a password", "sha256 of password_hash"),
               "added")
TOKENS = Table("tokens", ("person", "name", "expires_at", "revoked", "secret_hash"), "created")
WEBHOOKS = Table("webhooks", ("url", "kinds", "format", "active", "created_by", "sha256 of secret"), "added")
DELEGATIONS = Table("delegations", ("person", "delegate", "starts_on", "until", "roles", "project", "reason",
                                   "created_by", "created_at", "ended_at", "ended_by", "seq"), "made")
NOTIFY_SETTINGS = Table("notify_settings", ("email_kinds", "calendar_key_hash"), "chose")
TEMPLATES = Table("templates", ("sha256", "title", "published_by", "sha256 of source"), "published",
                  lambda key: f"{_plain(key[0])} v{_plain(key[1])}")


def row_difference(table: Table, stored: Rows, expected: Expected) -> str | None:
    """The first stored row the history does not explain, or the first row the history wrote that is gone.

    ``stored`` is read once, in the caller's order (a stream is fine); the keys seen are
    kept to find the rows that are missing, so memory grows with one chain's rows.
    """
    seen: set[Key] = set()
    for key, values in stored:
        found = expected.get(key)
        if found is None:
            return f"{table.name} has a row {table.label(key)} that no event {table.verb}"
        for field, got, want in zip(table.fields, values, found[0], strict=True):
            if got != want:
                return (f"{table.name} row {table.label(key)}: {field} is {_value(got)} "
                        f"but the history says {_value(want)}")
        seen.add(key)
    if len(seen) == len(expected):
        return None
    for key, (_, seq) in expected.items():
        if key not in seen:
            return f"{table.name} has no row {table.label(key)}, which event {seq} {table.verb}"
    return None


def _rounds(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def project_difference(replayed: Replay, row: StoredProject) -> str | None:
    """The first field of the project row that is not what the history says (its template version last)."""
    for field in PROJECT_FIELDS:
        got, want = getattr(row, field), getattr(replayed, field)
        if field == "planned_due":
            if (_rounds(got) if got else {}) == want:
                continue
            want = canonical_json(want) if want else None
        if field == "rounds":
            if _rounds(got) == want:
                continue
            want = canonical_json(want)
        if got != want:
            return f"projects.{field} is {_value(got)} but the history says {_value(want)}"
    ref = replayed.template
    pinned = (row.template_key, row.template_version, row.template_sha256)
    if pinned == (ref.get("key"), ref.get("version"), ref.get("sha256")):
        return None
    history = _version(ref.get("key"), ref.get("version"), ref.get("sha256"))
    if row.template_key is None:
        return (f"projects.template_id is {row.template_id}, which no templates row has; "
                f"the history says {history}")
    return (f"the project is pinned to template {_version(*pinned)} "
            f"but its create event says {history}")


def _version(key: Any, version: Any, digest: Any) -> str:
    return f"{_plain(key)} v{_plain(version)} (sha256 {_plain(str(digest)[:12])}…)"


def missing_row(length: int) -> str:
    """A chain with events whose project row is gone (phasegate never deletes a project)."""
    return f"the project's row is missing: its chain has {length} events"


def uncreated_row(code: str) -> str:
    """A project row whose chain has no events at all (every project starts with its create event)."""
    return f"projects has a row {_plain(code)} that no event created: its chain has no events"


def chain_difference(replayed: Replay, row: StoredProject | None, team: Rows, tasks: Rows,
                     approvals: Rows, timers: Rows = (), definition: Definition | None = None,
                     admins: Sequence[str] = ()) -> str | None:
    """The first difference between a project's replay and its rows (the row, team, tasks, approvals,
    the notices given), then the clock's next moment against the pinned template's ``definition``
    (None: it cannot be read; the templates' check names that)."""
    if row is None:
        return missing_row(replayed.seq)
    return (
        project_difference(replayed, row)
        or row_difference(ASSIGNMENTS, team, {k: (a, a.seq) for k, a in replayed.assignments.items()})
        or row_difference(TASKS, tasks, {k: (t, t.seq) for k, t in replayed.tasks.items()})
        or row_difference(APPROVALS, approvals, {k: (a, a.seq) for k, a in replayed.approvals.items()})
        or row_difference(TIMERS, timers, {k: ((seq,), seq) for k, seq in replayed.timers.items()})
        or (None if definition is None else next_tick_difference(replayed, row, definition, admins))
    )


def next_tick_difference(replayed: Replay, row: StoredProject, definition: Definition,
                         admins: Sequence[str]) -> str | None:
    """``projects.next_tick_at`` against what the history still owes: ``tick`` looks at a project only
    once its next moment has come, so a moment NULLed or moved later silences the reminders.

    The engine keeps it at one of the round's moments (its due date's end, the gate's reminder
    and escalation), the earliest one a tick has not yet passed; so it must be None or one of
    them, never later than the first notice the round still owes (what ``tick`` would give now
    and the history has not given: :func:`workflow.domain.schedule.clock.due_now` at the end of time),
    and None while the project is not active. Which moment it is among the passed ones depends
    on when ticks ran, which the record does not say; a moment earlier than it need be only
    makes the next tick look again.
    """
    kept = row.next_tick_at
    if replayed.status != ACTIVE:
        if kept is None:
            return None
        return (f"projects.next_tick_at is {_value(kept)} but the history says 'None' "
                f"(the project is {replayed.status})")
    phase = definition.phase(replayed.phase)
    if phase is None:
        return None  # a phase the pinned template lacks: the project row's own check names it
    opened = row.gate_opened_at if replayed.gate_opened_at is UNRECORDED else replayed.gate_opened_at
    clock = Clock(replayed.calendar, replayed.starts_on, replayed.due_on, opened, None, None)
    when = moments(phase, clock)
    if not when:  # no due date, no gate waiting with a reminder: nothing for a tick to look at
        return None if kept is None else _no_moment(kept, when)
    given = replayed.given()
    # Who holds admin changes off the project's record: to an admin, an escalation given is given.
    escalated = any(kind == "escalate" for kind, _person in given) and bool(
        phase.gate and phase.gate.escalate_to == "admin")
    owed = [due for due in due_now(definition, phase, clock, END_OF_TIME, replayed.team_lists(),
                                   {role: t.person for (p, r, role), t in replayed.tasks.items()
                                    if (p, r) == (replayed.phase, replayed.round)},
                                   {role: a.person for (p, r, role), a in replayed.approvals.items()
                                    if (p, r) == (replayed.phase, replayed.round)},
                                   admins, given)
            if not (due.kind == "escalate" and escalated)]
    if owed:
        kind, first = min(((due.kind, when[due.kind]) for due in owed), key=lambda pair: pair[1])
        if kept is None or kept > first:
            return (f"projects.next_tick_at is {_value(kept)} but the history says {_value(first)} "
                    f"(its {kind} is owed and was not given)")
    return None if kept is None or kept in when.values() else _no_moment(kept, when)


def _no_moment(kept: str, when: Mapping[str, str]) -> str:
    listed = ", ".join(sorted(when.values())) or "none"
    return (f"projects.next_tick_at is {_value(kept)} but the history gives the round no moment then "
            f"(its moments: {listed})")


def grants_difference(replayed: SystemReplay, grants: Rows) -> str | None:
    """``grants`` rows ((person, privilege), (granted_by,)) against the grant and revoke events."""
    return row_difference(GRANTS, grants, {k: ((g.by,), g.seq) for k, g in replayed.grants.items()})


def accounts_difference(replayed: SystemReplay, people: Rows, tokens: Rows) -> str | None:
    """``people`` rows ((login,), (display_name, email, active, has a password, sha256 of the password
    hash)) and ``tokens`` rows ((id,), (person, name, expires_at, revoked, secret_hash)) against the
    ``user.*`` and ``token.*`` events (which carry each hash's sha256 since this version)."""
    accounts = {k: ((a.name, a.email, a.active, a.has_password, a.password_sha256), a.seq)
                for k, a in replayed.people.items()}
    held = {k: ((t.person, t.name, t.expires_at, t.revoked, t.secret_hash), t.seq)
            for k, t in replayed.tokens.items()}
    return row_difference(PEOPLE, people, accounts) or row_difference(TOKENS, tokens, held)


def notifications_difference(replayed: SystemReplay, webhooks: Rows, settings: Rows) -> str | None:
    """``webhooks`` rows ((id,), (url, kinds, format, active, created_by, sha256 of secret[:12])) and
    ``notify_settings`` rows ((person,), (email_kinds, calendar_key_hash)) against the ``webhook.*``,
    ``notify.email`` and ``calendar.key`` events (kinds as tuples, parsed from the stored JSON)."""
    hooks = {k: ((w.url, w.kinds, w.format, w.active, w.by, w.secret_sha256), w.seq)
             for k, w in replayed.webhooks.items()}
    chosen = {k: ((c.kinds, c.calendar_key), c.seq) for k, c in replayed.email_choices.items()}
    return (row_difference(WEBHOOKS, webhooks, hooks)
            or row_difference(NOTIFY_SETTINGS, settings, chosen))


def delegations_difference(replayed: SystemReplay, rows: Rows) -> str | None:
    """``delegations`` rows ((id,), (person, delegate, starts_on, until, roles, project, reason,
    created_by, created_at, ended_at, ended_by, seq)) against the ``delegate`` and ``delegate.end`` events."""
    made = {k: ((d.person, d.to, d.starts_on, d.until, d.roles, d.project, d.reason, d.by, d.at, d.ended_at,
                 d.ended_by, d.made), d.seq) for k, d in replayed.delegations.items()}
    return row_difference(DELEGATIONS, rows, made)


def templates_difference(replayed: SystemReplay, templates: Rows) -> str | None:
    """``templates`` rows ((key, version), (sha256, title, published_by, sha256 of source)) against
    the template.publish events."""
    expected = {k: ((p.sha256, p.title, p.by, p.sha256), p.seq) for k, p in replayed.templates.items()}
    return row_difference(TEMPLATES, templates, expected)


def compiled_differs(key: str, version: int) -> str:
    """A template version whose compiled definition (what commands read) is not what its text loads to."""
    return (f"templates row {TEMPLATES.label((key, version))}: compiled does not describe its source "
            f"(the text the history recorded the sha256 of)")
