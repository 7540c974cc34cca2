"""Naming the first difference between a chain's replay and the rows that cache it.

The state tables (``projects``, ``assignments``, ``tasks``, ``approvals``; ``grants``
and ``templates`` for the system chain) are a cache of the history that the engine
writes in the same transaction as each event, so replaying a chain must land on
exactly its rows. ``audit verify`` replays every chain and hands each chain's stored
rows here (``workflow/storage/verify_state.py`` reads them); what comes back is one
sentence naming the table, the row, the field, the stored value and what the
history says, or None. The comparisons run in a fixed order (the project row, then
its team, tasks and approvals; a table's rows in key order, then the rows it lacks
in event order), so two runs over the same database name the same difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from workflow.domain.events import canonical_json
from workflow.domain.inputs import shown
from workflow.domain.replay import Replay, SystemReplay

Key = tuple[Any, ...]
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
    template_id: int
    template_key: str | None
    template_version: int | None
    template_sha256: str | None


# The fields of a project row that replay rebuilds, in the order they are compared.
PROJECT_FIELDS = ("name", "client", "phase", "round", "status", "rounds", "seq", "head_hash", "created_at",
                  "updated_at", "hold_seq", "rejection_seq", "calendar", "starts_on", "due_on", "planned_due")


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
TASKS = Table("tasks", ("person", "note", "done_at", "seq", "auth"), "recorded")
APPROVALS = Table("approvals", ("person", "comment", "approved_at", "seq", "auth"), "recorded")
GRANTS = Table("grants", ("granted_by",), "granted")
PEOPLE = Table("people", ("display_name", "email", "active", "has a password"), "added")
TOKENS = Table("tokens", ("person", "name", "expires_at", "revoked"), "created")
WEBHOOKS = Table("webhooks", ("url", "kinds", "format", "active", "created_by", "sha256 of secret"), "added")
NOTIFY_SETTINGS = Table("notify_settings", ("email_kinds",), "chose")
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
                     approvals: Rows) -> str | None:
    """The first difference between a project's replay and its rows (the row, team, tasks, approvals)."""
    if row is None:
        return missing_row(replayed.seq)
    return (
        project_difference(replayed, row)
        or row_difference(ASSIGNMENTS, team, {k: (a, a.seq) for k, a in replayed.assignments.items()})
        or row_difference(TASKS, tasks, {k: (t, t.seq) for k, t in replayed.tasks.items()})
        or row_difference(APPROVALS, approvals, {k: (a, a.seq) for k, a in replayed.approvals.items()})
    )


def grants_difference(replayed: SystemReplay, grants: Rows) -> str | None:
    """``grants`` rows ((person, privilege), (granted_by,)) against the grant and revoke events."""
    return row_difference(GRANTS, grants, {k: ((g.by,), g.seq) for k, g in replayed.grants.items()})


def accounts_difference(replayed: SystemReplay, people: Rows, tokens: Rows) -> str | None:
    """``people`` rows ((login,), (display_name, email, active, has a password)) and ``tokens`` rows
    ((id,), (person, name, expires_at, revoked)) against the ``user.*`` and ``token.*`` events."""
    return (row_difference(PEOPLE, people, {k: (a[:4], a.seq) for k, a in replayed.people.items()})
            or row_difference(TOKENS, tokens, {k: (t[:4], t.seq) for k, t in replayed.tokens.items()}))


def notifications_difference(replayed: SystemReplay, webhooks: Rows, settings: Rows) -> str | None:
    """``webhooks`` rows ((id,), (url, kinds, format, active, created_by, sha256 of secret[:12])) and
    ``notify_settings`` rows ((person,), (email_kinds,)) against the ``webhook.*``, ``notify.email`` and
    ``calendar.key`` events (kinds as tuples, parsed from the stored JSON)."""
    hooks = {k: ((w.url, w.kinds, w.format, w.active, w.by, w.secret_sha256), w.seq)
             for k, w in replayed.webhooks.items()}
    chosen = {k: ((c.kinds,), c.seq) for k, c in replayed.email_choices.items()}
    return (row_difference(WEBHOOKS, webhooks, hooks)
            or row_difference(NOTIFY_SETTINGS, settings, chosen))


def templates_difference(replayed: SystemReplay, templates: Rows) -> str | None:
    """``templates`` rows ((key, version), (sha256, title, published_by, sha256 of source)) against
    the template.publish events."""
    expected = {k: ((p.sha256, p.title, p.by, p.sha256), p.seq) for k, p in replayed.templates.items()}
    return row_difference(TEMPLATES, templates, expected)


def compiled_differs(key: str, version: int) -> str:
    """A template version whose compiled definition (what commands read) is not what its text loads to."""
    return (f"templates row {TEMPLATES.label((key, version))}: compiled does not describe its source "
            f"(the text the history recorded the sha256 of)")
