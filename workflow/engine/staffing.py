"""Creating projects, staffing their roles, and checking that the staff can sign every remaining gate."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select

from workflow.domain import inputs, rules, wording
from workflow.domain.audit.events import GENESIS, Event, canonical_json, new_event
from workflow.domain.duties.signing import people_of
from workflow.domain.identity import Identity, acting
from workflow.domain.rules import Context
from workflow.domain.schedule import workdays
from workflow.domain.schedule.clock import Clock, entering, next_tick
from workflow.domain.staffing.gates import Staffing, StaffingCheck, check_gates
from workflow.domain.vocabulary import ACTIVE, CLOSED
from workflow.engine.commands import implements
from workflow.engine.commands import run as run_command
from workflow.engine.running import record, write_once
from workflow.engine.visibility import readable_project
from workflow.errors import Conflict, NotFound, RuleRefused
from workflow.storage import people
from workflow.storage import statements as sql
from workflow.storage.chains import start_project_chain
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.insights.track import track_created
from workflow.storage.project_rows import _earlier as earlier_work  # the rounds' signatures and tasks
from workflow.storage.store import Store
from workflow.storage.tables import projects as t_projects
from workflow.storage.templates import template_row
from workflow.storage.transaction import ReadTx, WriteTx


def create_project(store: Store, code: str, *, template: str, actor: str | Identity, name: str | None = None,
                   client: str | None = None, version: int | None = None, request_id: str | None = None,
                   calendar: str | None = None, starts_on: str | None = None,
                   team: Mapping[str, Sequence[str]] | None = None) -> Event:
    """A new project on ``template`` (its latest version, or ``version``), in its first phase.

    ``calendar``: the working calendar its due dates count in (a country or subdivision,
    ``GB-ENG``; None: Monday to Friday); ``starts_on``: the date its clock starts (None: now).
    ``team`` (role -> people): assigned right after, each assignment its own command and event as
    ``assign`` records it (request ids derived from ``request_id``, so a retry repeats none); its
    roles and accounts are checked before the project is created, so a bad plan creates nothing.
    """
    code = inputs.project_code(code)
    who = acting(actor)
    staff = [(str(role), [inputs.person(p) for p in people]) for role, people in (team or {}).items()]
    name = inputs.text(name, "the project name", max_len=inputs.LINE_MAX, multiline=False)
    client = inputs.text(client, "the client", max_len=inputs.LINE_MAX, multiline=False)
    calendar = None if calendar is None else workdays.calendar_code(calendar)
    starts_on = None if starts_on is None else workdays.given_day(
        starts_on, workdays.parse_day(utcnow()), "the start date")

    def work(tx: WriteTx) -> Event:
        rules.require_privilege(who.person, privileges_of(tx, who.person), "admin", "create projects")
        if tx.core(select(t_projects.c.id).where(t_projects.c.code == code)).first():
            raise Conflict(f"project {code} exists already")
        tpl = tx.template(template_row(tx, template, version).id)
        for role, people_of_role in staff:
            if tpl.definition.role(role) is None:
                raise NotFound(f"template {tpl.key} has no role {inputs.shown(role)} "
                               f"(roles: {', '.join(tpl.definition.role_keys)})")
            for person in people_of_role:
                require_account(tx, person)
        first = tpl.definition.phases[0]
        now = utcnow()
        clock = Clock(calendar, starts_on, None, None, None, None)
        clock = clock._replace(**entering(first, 1, clock, now))
        clock = clock._replace(next_tick_at=next_tick(first, clock))
        data: dict[str, Any] = {
            "template": tpl.ref,
            "name": name,
            "client": client,
            "phase": first.key,
            "phase_title": first.title,
            "round": 1,
            "auth": who.auth,
        }
        data |= {k: v for k, v in (("calendar", calendar), ("starts_on", starts_on), ("due_on", clock.due_on))
                 if v is not None}
        data["gate_opened_at"] = clock.gate_opened_at  # the gate's opening is on the record from the start
        event = new_event(code, 1, GENESIS, now, who.person, "create", first.key, data)
        inserted = tx.core(
            insert(t_projects).values(
                code=code,
                name=name,
                client=client,
                template_id=tpl.id,
                phase=first.key,
                round=1,
                status=ACTIVE,
                rounds=canonical_json({first.key: 1}),
                seq=1,
                head_hash=event.hash,
                created_at=now,
                updated_at=now,
                **clock._asdict(),
            )
        )
        track_created(tx, inserted.inserted_primary_key[0], tpl.id, client, calendar, first.key, now)
        return start_project_chain(tx, event)

    command: dict[str, Any] = {
        "command": "create",
        "code": code,
        "template": template,
        "version": version,
        "name": name,
        "client": client,
    }
    command |= {k: v for k, v in (("calendar", calendar), ("starts_on", starts_on)) if v is not None}
    if staff:
        command["team"] = {role: list(people_of_role) for role, people_of_role in staff}
    event = write_once(store, request_id, who.person, command, work)
    for role, people_of_role in staff:
        for person in people_of_role:
            again = None if request_id is None else "team:" + hashlib.sha256(
                f"{request_id}\0{role}\0{person}".encode()).hexdigest()
            run_command(store, "assign", {"code": code, "role": role, "person": person, "actor": actor,
                                          "request_id": again, "expected_seq": None})
    return event


@implements("assign")
def assign(ctx: Context, tx: WriteTx, role: str, person: str) -> Event:
    rules.may_assign(ctx, role)
    require_account(tx, person)
    if ctx.state.holds(role, person):
        raise RuleRefused(f"{person} already holds the {ctx.role_title(role)} role on {ctx.code}")
    tx.write(
        sql.INSERT_ASSIGNMENT,
        {
            "project_id": ctx.state.id,
            "role": role,
            "person": person,
            "assigned_at": ctx.now,
            "assigned_by": ctx.actor,
            "seq": ctx.state.seq + 1,
        },
    )
    return record(
        ctx,
        tx,
        "assign",
        {"role": role, "role_title": ctx.role_title(role), "person": person},
        authority=None,
    )


def require_account(tx: WriteTx, person: str) -> None:
    """Where the database has accounts, only a person who has one can be given a role (a typo such as
    ``bne`` for ``ben`` would leave a project waiting on nobody for good); a database without any
    account (one person's SQLite file, ``--as``) takes any name, as before accounts existed."""
    if people.person_row(tx, person) is None and people.accounts_exist(tx):
        raise NotFound(wording.no_account(person, people.logins(tx)))


@implements("unassign")
def unassign(ctx: Context, tx: WriteTx, role: str, person: str) -> Event:
    rules.may_unassign(ctx, role, person)
    state = ctx.state
    tx.write(sql.DELETE_ASSIGNMENT, {"project_id": state.id, "role": role, "person": person})
    # An approval counts only while its signer holds the role: this one goes with the role (and one a
    # delegate gave on the person's behalf).
    signed = state.approvals.get(role)
    voided = []
    if signed is not None and person in (signed.person, signed.on_behalf_of):
        tx.write(
            sql.DELETE_APPROVAL,
            {"project_id": state.id, "phase": state.phase, "round": state.round, "role": role},
        )
        voided.append({"role": role, "person": signed.person, "seq": signed.seq})
    data = {
        "role": role,
        "role_title": ctx.role_title(role),
        "person": person,
        "assignment_seq": state.authority[(role, person)],
        "voided": {"approvals": voided},
    }
    return record(ctx, tx, "unassign", data, authority=None)


def check_project(store: Store, code: str, *, reader: str | Identity | None = None) -> StaffingCheck:
    """Can every remaining gate of ``code`` (its current phase's, with the approvals given this round,
    and every later one) be signed by its team as it stands? For each gate: "can pass", or why not and
    the smallest change that would fix it (:mod:`workflow.domain.staffing.gates`). A closed project has
    no gate left. Readers of the project only (its team, admins, auditors)."""
    code = inputs.project_code(code)
    who = None if reader is None else acting(reader).person

    def work(tx: ReadTx) -> StaffingCheck:
        state, _privileges = readable_project(tx, code, who)
        definition = tx.template(state.template_id).definition
        if state.status in CLOSED:
            return StaffingCheck(code, ())
        delegations = tuple(state.delegations)  # read once (a lazy read on the write path)
        members = {p for team in state.team.values() for p in team} | {d.to for d in delegations}
        named = tuple(sorted({ref for p in definition.phases[definition.phase_position(state.phase):]
                              if p.gate is not None for ref in p.gate.distinct_from}))
        staffing = Staffing(state.team, people.disabled_among(tx, members), delegations,
                            earlier_work(tx, state, named) if named else (), code, state.read_at or utcnow())
        approvals = {role: people_of(signed) for role, signed in state.approvals.items()}
        return check_gates(definition, staffing, start=state.phase, approvals=approvals,
                           tasks_done=tuple(state.tasks), subject=code)

    return store.read(work)

