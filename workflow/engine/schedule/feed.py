"""A person's due dates as an iCalendar feed: the phases where they have a task or a signature to give.

The feed is read by calendar programs that cannot sign in, so it takes a per-person secret
in its URL (``/me/calendar.ics?key=…``); the secret is stored only as its sha256, a new one
replaces the old (the old URL stops working), and making one is on the record.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from workflow.domain import credentials, inputs, rules
from workflow.domain.identity import Identity, acting
from workflow.domain.results import ProjectStatus
from workflow.domain.schedule import workdays
from workflow.engine import reads, templates
from workflow.engine.people.accounts import account
from workflow.storage.chains import append_system_event
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.store import Store
from workflow.storage.tables import notify_settings as t_settings
from workflow.storage.tables import people as t_people
from workflow.storage.transaction import ReadTx, WriteTx

KEY_PREFIX = "pgc_"


def entries(store: Store, person: str, *, reader: str | Identity) -> list[dict[str, Any]]:
    """Every dated phase where ``person`` has something to do: the current round's (what waits
    on them now) and the phases to come where they hold a task or an approver role."""
    who = inputs.person(person)
    by = acting(reader)
    if by.person != who:
        store.read(lambda tx: rules.require_privilege(by.person, privileges_of(tx, by.person), "admin",
                                                        f"read {who}'s calendar"))
    out = []
    for code, roles in reads.memberships(store, who).items():
        st = reads.status(store, code)
        if st.status != "active":
            continue
        _info, definition, _source = templates.template(store, st.template, st.template_version)
        mine = {p.key for p in definition.phases
                if set(roles) & {*p.task_roles, *(p.gate.approvers if p.gate else ())}}
        out += _dated(st, who, mine)
    return out


def _dated(st: ProjectStatus, who: str, mine: set[str]) -> list[dict[str, Any]]:
    waiting = {w["kind"] for w in st.waiting if who in w["people"]}
    out: list[dict[str, Any]] = []
    if st.due and waiting:
        what = "your task" if "task" in waiting else "your signature"
        out.append({"project": st.code, "name": st.name, "phase": st.phase, "title": st.phase_title,
                    "round": st.round, "due": st.due, "what": what, "overdue": st.overdue})
    for row in st.schedule:
        if row["state"] == "planned" and row["due"] and row["phase"] in mine:
            out.append({"project": st.code, "name": st.name, "phase": row["phase"], "title": row["title"],
                        "round": None, "due": row["due"], "what": "planned", "overdue": False})
    return out


def ics(rows: list[dict[str, Any]], person: str, base_url: str) -> str:
    """The rows as an iCalendar document (all-day events, stable UIDs so a refresh updates them)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//phasegate//due dates//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"phasegate: {person}")
    stamp = utcnow()
    for row in rows:
        event = Event()
        round_part = f"-r{row['round']}" if row["round"] else ""
        event.add("uid", f"{row['project']}-{row['phase']}{round_part}-{person}@phasegate")
        label = f"{row['project']}: {row['title']}"
        event.add("summary", label + (f" ({row['what']})" if row["what"] != "planned" else " (planned)"))
        day = workdays.stored_day(row["due"])
        if day is None:
            continue  # not a date (written with SQL): nothing a calendar can show
        event.add("dtstart", day)
        if day < date.max:  # an all-day event without DTEND is that one day (RFC 5545)
            event.add("dtend", day + timedelta(days=1))
        event.add("dtstamp", _when(stamp))
        event.add("url", f"{base_url.rstrip('/')}/projects/{row['project']}")
        if row["name"]:
            event.add("description", row["name"])
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def _when(stored: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(stored.replace("Z", "+00:00"))


def calendar(store: Store, person: str, *, reader: str | Identity,
             base_url: str = "http://127.0.0.1:8765") -> str:
    """``person``'s due dates as iCalendar text (``reader``: themselves or an admin)."""
    return ics(entries(store, person, reader=reader), inputs.person(person), base_url)


def new_calendar_key(store: Store, *, actor: str | Identity) -> str:
    """A new secret for the acting person's feed (the old one stops working); shown once."""
    who = acting(actor)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)

    def work(tx: WriteTx) -> str:
        tx.dialect.lock_system(tx)
        account(tx, who.person)
        now = utcnow()
        values = {"calendar_key_hash": credentials.secret_hash(secret), "updated_at": now}
        changed = tx.core(update(t_settings).where(t_settings.c.person == who.person).values(**values))
        if changed.rowcount == 0:
            tx.core(insert(t_settings).values(person=who.person, email_kinds=None, **values))
        append_system_event(tx, who, "calendar.key", {"person": who.person,
                                                      "key_sha256": values["calendar_key_hash"]})
        return secret

    return store.write(work)


def calendar_owner(store: Store, secret: str) -> str | None:
    """Whose feed ``secret`` opens (an active account's), or None."""
    if not secret.startswith(KEY_PREFIX):
        return None
    digest = credentials.secret_hash(secret)

    def work(tx: ReadTx) -> str | None:
        row = tx.core(
            select(t_settings.c.person).join(t_people, t_people.c.login == t_settings.c.person)
            .where(t_settings.c.calendar_key_hash == digest, t_people.c.active)
        ).first()
        return None if row is None else str(row[0])

    return store.read(work)
