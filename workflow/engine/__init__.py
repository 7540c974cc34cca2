"""The Engine: the one place phasegate's rules live.

Every change is one database transaction that locks the project row (``SELECT …
FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), reads the current
round, asks the compiled state machine whether the move exists, writes its rows
and appends its audit event to the project's hash chain — or does nothing at all.
Serialization failures, deadlocks and lost races on a chain head are retried with
backoff; the user sees :class:`~workflow.errors.Conflict` only when retries run out.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import replace
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from sqlalchemy import (
    and_,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DBAPIError, IntegrityError

from workflow.domain import inputs
from workflow.domain.events import GENESIS, SYSTEM_CHAIN, canonical_json
from workflow.domain.definition import Definition, definition_from_dict, definition_to_dict
from workflow.errors import (
    Conflict,
    DatabaseProblem,
    NotFound,
    NotPermitted,
    PhasegateError,
    RuleRefused,
    UsageError,
)
from workflow.domain.machine import CANCELLED, COMPLETED, Binding, fire
from workflow.project_view import (
    DoneTask,
    ProjectRow,
    ProjectView,
    Signature,
    TemplateVersion,
    enter,
    event_params,
    meaning,
    new_event,
    status_of,
)
from workflow.domain.results import AuditReport, ProjectStatus, ProjectSummary, TemplateInfo
from workflow.domain.events import Event
from workflow.storage.database import (
    HeldConnection,
    is_retryable,
    open_database,
    read_transaction,
    translate_error,
    utcnow,
    write_transaction,
)
from workflow.storage.migrate import ensure_schema
from workflow.storage.statements import combined, for_dialect
from workflow.storage.tables import assignments as t_assignments
from workflow.storage.tables import events as t_events
from workflow.storage.tables import grants as t_grants
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import templates as t_templates

if TYPE_CHECKING:
    from workflow.domain.checkpoint import Checkpoint
    from workflow.reports.timeline import ProjectReport, TemplateReport

R = TypeVar("R")

# The events the running write transaction has inserted (see Engine._run and _landed).
_WRITTEN: ContextVar[list[Event] | None] = ContextVar("phasegate_written", default=None)
# PostgreSQL: the running transaction's writes, sent in one pipeline together with its COMMIT.
_DEFERRED: ContextVar[list[tuple[str, tuple[Any, ...]]] | None] = ContextVar(
    "phasegate_deferred", default=None
)

MAX_ATTEMPTS = 10
PRIVILEGES = ("admin", "auditor")
SYSTEM_ACTOR = "phasegate"
SYSTEM_LOCK_KEY = 0x70676174  # pg_advisory_xact_lock key serializing the templates-and-grants chain
REQUEST_LOCK_CLASS = 0x72716964  # pg_advisory_xact_lock(class, hashtext(request id)): one id at a time


class Engine:
    """phasegate's Python API. ``Engine(url)`` opens (and on first use creates) the database."""

    def __init__(self, url: str | None = None) -> None:
        self._db = open_database(url)
        self.url = self._db.url.render_as_string(hide_password=True)
        self._pg = self._db.dialect.name == "postgresql"
        self._sql = for_dialect(self._pg)
        self._dbapi_error: type[Exception] = self._db.dialect.loaded_dbapi.Error
        self._templates: dict[int, TemplateVersion] = {}
        self._held = HeldConnection(self._db)
        try:
            migrated = ensure_schema(self._db)
            if migrated:
                self.publish_builtins()
        except BaseException:
            self._held.drop()
            self._db.dispose()
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._held.drop()
        self._db.dispose()

    def __del__(self) -> None:
        # An Engine dropped without close(): give the held connection back instead of leaving
        # it to the garbage collector (SQLAlchemy warns about that).
        with contextlib.suppress(Exception):
            self._held.drop()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    def _run(self, work: Callable[[Connection], R]) -> R:
        """Run ``work`` in one write transaction, retrying lost races; nothing half-written stays.

        When the COMMIT itself fails (a dropped connection, an I/O error), the transaction may
        have landed on the server even though the client got an error: a lost acknowledgement.
        Running the command again would then say "already done" or move the project twice, so
        the engine first asks the database whether the last event this attempt wrote is there
        (chain, seq and hash); if it is, the command succeeded and its result is returned.
        """
        delay = 0.005
        for attempt in range(1, MAX_ATTEMPTS + 1):
            written: list[Event] = []
            deferred: list[tuple[str, tuple[Any, ...]]] = []
            token = _WRITTEN.set(written)
            deferred_token = _DEFERRED.set(deferred)
            committing = False
            try:
                with write_transaction(self._db, self._held) as conn:
                    result = work(conn)
                    committing = True  # an error from here on comes from the COMMIT
                    if deferred:  # PostgreSQL: the writes, as one statement, and the COMMIT in one round trip
                        self._pipeline(conn, [combined(deferred)], commit=True)
                return result
            except PhasegateError:
                raise
            except DBAPIError as exc:
                if committing and written:
                    landed = self._landed(written[-1])
                    if landed:
                        return result
                    if landed is None:
                        cause = translate_error(exc, self._db.url).message.rstrip(".")
                        raise DatabaseProblem(
                            f"{cause} while saving the change, and the database could not be asked whether "
                            f"it was saved; look at the history before running the command again (or repeat "
                            f"it with the same --request-id)"
                        ) from exc
                # A dropped connection before the COMMIT landed changed nothing: run it again.
                race = is_retryable(exc) or isinstance(exc, IntegrityError) or exc.connection_invalidated
                if not race:
                    raise translate_error(exc, self._db.url) from exc
                if attempt == MAX_ATTEMPTS:
                    if exc.connection_invalidated:
                        raise translate_error(exc, self._db.url) from exc
                    raise Conflict(
                        f"the data changed meanwhile and the command could not be applied after "
                        f"{MAX_ATTEMPTS} attempts; nothing was changed, run it again"
                    ) from exc
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.25)
            finally:
                _WRITTEN.reset(token)
                _DEFERRED.reset(deferred_token)
        raise AssertionError("unreachable")

    def _landed(self, event: Event) -> bool | None:
        """Whether the transaction that wrote ``event`` committed; None when the database can't say.

        The check takes the lock the command took (the project row, or the system chain's lock),
        so it waits for a COMMIT still in flight on the old connection instead of racing it.
        """
        try:
            with write_transaction(self._db) as conn:
                if self._pg:
                    if event.chain == SYSTEM_CHAIN:
                        self._lock_system(conn)
                    else:
                        conn.execute(
                            select(t_projects.c.id).where(t_projects.c.code == event.chain).with_for_update()
                        )
                stored = conn.execute(
                    select(t_events.c.hash).where(
                        t_events.c.chain == event.chain, t_events.c.seq == event.seq
                    )
                ).first()
                return stored is not None and stored.hash == event.hash
        except (DBAPIError, DatabaseProblem):
            return None

    def _read(self, work: Callable[[Connection], R]) -> R:
        try:
            with read_transaction(self._db, self._held) as conn:
                return work(conn)
        except PhasegateError:
            raise
        except DBAPIError as exc:
            raise translate_error(exc) from exc

    def _idempotent(
        self,
        request_id: str | None,
        actor: str,
        command: dict[str, Any],
        work: Callable[[Connection], Event],
    ) -> Event:
        """Apply ``work`` once per request id; a repeat is answered with the first outcome."""
        if request_id is None:
            return self._run(work)
        rid = inputs.text(request_id, "the request id", required=True, max_len=128, multiline=False)
        fingerprint = canonical_json(command)

        def txn(conn: Connection) -> Event:
            if self._pg:
                # Two senders of one id at the same instant: without this both find no prior
                # request, one wins the project's row lock and the other, once it gets the lock,
                # runs the command a second time ("already done") instead of answering with the
                # first outcome. Serialize on the id; READ COMMITTED then shows the winner's row.
                conn.execute(select(func.pg_advisory_xact_lock(REQUEST_LOCK_CLASS, func.hashtext(rid))))
            prior = self._exec(conn, self._sql.get_request, (rid,)).fetchone()
            if prior is not None:
                prior_actor, prior_command, prior_outcome = prior
                if prior_actor != actor or prior_command != fingerprint:
                    raise Conflict(f"request id {inputs.shown(rid)} was already used for a different command")
                return _event_from_dict(json.loads(prior_outcome))
            event = work(conn)
            self._write_now_or_with_commit(
                conn,
                self._sql.put_request,
                (rid, actor, fingerprint, canonical_json(event.to_dict()), event.at),
            )
            return event

        return self._run(txn)

    # -- templates ---------------------------------------------------------------------------

    def _template(self, conn: Connection, template_id: int) -> TemplateVersion:
        tpl = self._templates.get(template_id)
        if tpl is None:
            row = conn.execute(
                select(
                    t_templates.c.key,
                    t_templates.c.version,
                    t_templates.c.sha256,
                    t_templates.c.compiled,
                    t_templates.c.source,
                ).where(t_templates.c.id == template_id)
            ).one()
            if row.compiled:  # validated when published; no YAML parsing on the command path
                definition = definition_from_dict(json.loads(row.compiled))
            else:
                from workflow.domain.loader import load_definition

                definition = load_definition(row.source, source=f"{row.key} v{row.version}")
            tpl = TemplateVersion(template_id, row.key, row.version, row.sha256, definition)
            self._templates[template_id] = tpl
        return tpl

    def _template_row(self, conn: Connection, key: str, version: int | None) -> Row[Any]:
        stmt = select(t_templates).where(t_templates.c.key == key)
        if version is not None:
            stmt = stmt.where(t_templates.c.version == version)
        row = conn.execute(stmt.order_by(t_templates.c.version.desc()).limit(1)).first()
        if row is None:
            if (
                version is not None
                and conn.execute(select(t_templates.c.id).where(t_templates.c.key == key).limit(1)).first()
            ):
                raise NotFound(f"template {key} has no version {version}")
            raise NotFound(f"there is no template {inputs.shown(key)}; `phasegate template list` shows them")
        return row

    def templates(self) -> list[TemplateInfo]:
        """The latest version of every published template, by key."""

        def work(conn: Connection) -> list[TemplateInfo]:
            latest = (
                select(t_templates.c.key, func.max(t_templates.c.version).label("version"))
                .group_by(t_templates.c.key)
                .subquery()
            )
            rows = conn.execute(
                select(t_templates)
                .join(
                    latest, and_(latest.c.key == t_templates.c.key, latest.c.version == t_templates.c.version)
                )
                .order_by(t_templates.c.key)
            ).all()
            return [_template_info(r) for r in rows]

        return self._read(work)

    def template(self, key: str, version: int | None = None) -> tuple[TemplateInfo, Definition, str]:
        """(info, compiled definition, exact source text) of one version (default: the latest)."""

        def work(conn: Connection) -> tuple[TemplateInfo, Definition, str]:
            row = self._template_row(conn, key, version)
            return _template_info(row), self._template(conn, row.id).definition, row.source

        return self._read(work)

    def publish_template(
        self, source: str | bytes | Path, *, actor: str, name: str | None = None
    ) -> tuple[TemplateInfo, bool]:
        """Publish a new version when the text differs from the latest; returns (info, published)."""
        from workflow.domain.loader import load_definition

        actor = inputs.person(actor, "the acting person")
        if isinstance(source, Path):
            from workflow.domain.loader import load_file

            load_file(source)  # validates with the byte limit applied before reading it all
            data = source.read_bytes()
            name = name or str(source)
        else:
            data = source if isinstance(source, bytes) else source.encode("utf-8")
        definition = load_definition(data, source=name or "<template>")
        text = data.decode("utf-8")

        def work(conn: Connection) -> tuple[TemplateInfo, bool]:
            self._require_privilege(conn, actor, "admin", "publish templates")
            return self._publish(conn, definition, text, actor)

        return self._run(work)

    def _publish(
        self, conn: Connection, definition: Definition, text: str, actor: str
    ) -> tuple[TemplateInfo, bool]:
        latest = conn.execute(
            select(t_templates)
            .where(t_templates.c.key == definition.key)
            .order_by(t_templates.c.version.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.source == text:
            return _template_info(latest), False
        version = 1 if latest is None else latest.version + 1
        digest = sha256(text.encode("utf-8")).hexdigest()
        now = utcnow()
        conn.execute(
            insert(t_templates).values(
                key=definition.key,
                version=version,
                title=definition.title,
                source=text,
                compiled=canonical_json(definition_to_dict(definition)),
                sha256=digest,
                published_at=now,
                published_by=actor,
            )
        )
        self._append_system(
            conn,
            actor,
            "template.publish",
            {
                "template": {"key": definition.key, "version": version, "sha256": digest},
                "title": definition.title,
            },
        )
        row = self._template_row(conn, definition.key, version)
        return _template_info(row), True

    def publish_builtins(self, actor: str = SYSTEM_ACTOR) -> list[TemplateInfo]:
        """Publish each built-in template whose key has no version yet (idempotent)."""
        from workflow.domain.loader import builtin_paths, load_definition

        def work(conn: Connection) -> list[TemplateInfo]:
            self._lock_system(conn)
            published = []
            for key, path in sorted(builtin_paths().items()):
                exists = conn.execute(
                    select(t_templates.c.id).where(t_templates.c.key == key).limit(1)
                ).first()
                if exists:
                    continue
                text = path.read_text(encoding="utf-8")
                info, _ = self._publish(conn, load_definition(text, source=str(path)), text, actor)
                published.append(info)
            return published

        return self._run(work)

    # -- people and grants -------------------------------------------------------------------

    def init(self, admin: str) -> dict[str, Any]:
        """Idempotent set-up: schema (done on open), built-ins, and ``admin`` as the first admin."""
        admin = inputs.person(admin, "the admin's name")
        published = self.publish_builtins()

        def work(conn: Connection) -> dict[str, Any]:
            self._lock_system(conn)
            admins = self._holders(conn, "admin")
            made = False
            if not admins:
                self._insert_grant(conn, admin, "admin", admin)
                made = True
            elif admin not in admins:
                raise NotPermitted(
                    f"this database already has admins ({', '.join(admins)}); ask one of them to "
                    f"grant {admin} admin"
                )
            return {
                "database": self.url,
                "admin": admin,
                "admin_created": made,
                "templates_published": [f"{t.key} v{t.version}" for t in published],
            }

        return self._run(work)

    def grant(self, person: str, privilege: str, *, actor: str) -> Event:
        person = inputs.person(person)
        actor = inputs.person(actor, "the acting person")
        self._check_privilege_name(privilege)

        def work(conn: Connection) -> Event:
            self._lock_system(conn)
            self._require_privilege(conn, actor, "admin", "grant privileges")
            if person in self._holders(conn, privilege):
                raise RuleRefused(f"{person} already has the {privilege} grant")
            return self._insert_grant(conn, person, privilege, actor)

        return self._run(work)

    def revoke(self, person: str, privilege: str, *, actor: str) -> Event:
        person = inputs.person(person)
        actor = inputs.person(actor, "the acting person")
        self._check_privilege_name(privilege)

        def work(conn: Connection) -> Event:
            self._lock_system(conn)
            self._require_privilege(conn, actor, "admin", "revoke privileges")
            holders = self._holders(conn, privilege)
            if person not in holders:
                raise NotFound(f"{person} does not have the {privilege} grant")
            if privilege == "admin" and holders == [person]:
                raise RuleRefused(f"{person} is the last admin; grant admin to someone else first")
            conn.execute(
                delete(t_grants).where(t_grants.c.person == person, t_grants.c.privilege == privilege)
            )
            return self._append_system(conn, actor, "revoke", {"person": person, "privilege": privilege})

        return self._run(work)

    def grants(self) -> dict[str, list[str]]:
        """privilege -> people holding it."""

        def work(conn: Connection) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {p: [] for p in PRIVILEGES}
            for row in conn.execute(select(t_grants).order_by(t_grants.c.privilege, t_grants.c.person)):
                out[row.privilege].append(row.person)
            return out

        return self._read(work)

    @staticmethod
    def _check_privilege_name(privilege: str) -> None:
        if privilege not in PRIVILEGES:
            raise UsageError(f"unknown grant {inputs.shown(privilege)}: use admin or auditor")

    def _insert_grant(self, conn: Connection, person: str, privilege: str, actor: str) -> Event:
        conn.execute(
            insert(t_grants).values(person=person, privilege=privilege, granted_at=utcnow(), granted_by=actor)
        )
        return self._append_system(conn, actor, "grant", {"person": person, "privilege": privilege})

    @staticmethod
    def _holders(conn: Connection, privilege: str) -> list[str]:
        rows = conn.execute(
            select(t_grants.c.person).where(t_grants.c.privilege == privilege).order_by(t_grants.c.person)
        )
        return [r.person for r in rows]

    @staticmethod
    def _privileges(conn: Connection, person: str) -> set[str]:
        return {
            r.privilege for r in conn.execute(select(t_grants.c.privilege).where(t_grants.c.person == person))
        }

    def _require_privilege(self, conn: Connection, actor: str, privilege: str, doing: str) -> set[str]:
        privileges = self._privileges(conn, actor)
        if privilege not in privileges:
            raise NotPermitted(f"{actor} may not {doing}: that needs the {privilege} grant")
        return privileges

    def _lock_system(self, conn: Connection) -> None:
        """Serialize writers of the templates-and-grants chain (SQLite's BEGIN IMMEDIATE already does)."""
        if self._pg:
            conn.execute(select(func.pg_advisory_xact_lock(SYSTEM_LOCK_KEY)))

    def _append_system(self, conn: Connection, actor: str, action: str, data: dict[str, Any]) -> Event:
        head = conn.execute(
            select(t_events.c.seq, t_events.c.hash, t_events.c.at)
            .where(t_events.c.chain == SYSTEM_CHAIN)
            .order_by(t_events.c.seq.desc())
            .limit(1)
        ).first()
        seq, prev, last_at = (0, GENESIS, "") if head is None else (head.seq, head.hash, head.at)
        return self._insert_event(
            conn, new_event(SYSTEM_CHAIN, seq + 1, prev, max(utcnow(), last_at), actor, action, None, data)
        )

    # -- projects: creating and staffing -----------------------------------------------------

    def create_project(
        self,
        code: str,
        *,
        template: str,
        actor: str,
        name: str | None = None,
        client: str | None = None,
        version: int | None = None,
        request_id: str | None = None,
    ) -> Event:
        code = inputs.project_code(code)
        actor = inputs.person(actor, "the acting person")
        name = inputs.text(name, "the project name", max_len=inputs.LINE_MAX, multiline=False)
        client = inputs.text(client, "the client", max_len=inputs.LINE_MAX, multiline=False)

        def work(conn: Connection) -> Event:
            self._require_privilege(conn, actor, "admin", "create projects")
            if conn.execute(select(t_projects.c.id).where(t_projects.c.code == code)).first():
                raise Conflict(f"project {code} exists already")
            trow = self._template_row(conn, template, version)
            tpl = self._template(conn, trow.id)
            first = tpl.definition.phases[0]
            now = utcnow()
            data = {
                "template": tpl.ref,
                "name": name,
                "client": client,
                "phase": first.key,
                "phase_title": first.title,
                "round": 1,
            }
            event = new_event(code, 1, GENESIS, now, actor, "create", first.key, data)
            conn.execute(
                insert(t_projects).values(
                    code=code,
                    name=name,
                    client=client,
                    template_id=tpl.id,
                    phase=first.key,
                    round=1,
                    status="active",
                    rounds=canonical_json({first.key: 1}),
                    seq=1,
                    head_hash=event.hash,
                    created_at=now,
                    updated_at=now,
                )
            )
            return self._insert_event(conn, event)

        args = {"template": template, "version": version, "name": name, "client": client}
        return self._idempotent(request_id, actor, {"command": "create", "code": code, **args}, work)

    def assign(
        self, code: str, role: str, person: str, *, actor: str, request_id: str | None = None
    ) -> Event:
        person = inputs.person(person)

        def body(ctx: ProjectView) -> Event:
            self._require_assigner(ctx)
            self._require_role(ctx, role)
            if ctx.row.status in (COMPLETED, CANCELLED):
                raise RuleRefused(f"project {ctx.code} is {ctx.row.status}; its team can no longer change")
            if ctx.holds(role, person):
                raise RuleRefused(
                    f"{person} already holds the {ctx.definition.role_title(role)} role on {ctx.code}"
                )
            seq = ctx.row.seq + 1
            self._write(ctx, self._sql.insert_assignment, (ctx.row.id, role, person, ctx.now, ctx.actor, seq))
            return self._append(
                ctx,
                "assign",
                {"role": role, "role_title": ctx.definition.role_title(role), "person": person},
                authority=None,
            )

        return self._project_command(
            code, actor, request_id, {"command": "assign", "role": role, "person": person}, body
        )

    def unassign(
        self, code: str, role: str, person: str, *, actor: str, request_id: str | None = None
    ) -> Event:
        person = inputs.person(person)

        def body(ctx: ProjectView) -> Event:
            self._require_assigner(ctx)
            self._require_role(ctx, role)
            if not ctx.holds(role, person):
                raise NotFound(
                    f"{person} does not hold the {ctx.definition.role_title(role)} role on {ctx.code}"
                )
            self._write(ctx, self._sql.delete_assignment, (ctx.row.id, role, person))
            return self._append(
                ctx,
                "unassign",
                {
                    "role": role,
                    "role_title": ctx.definition.role_title(role),
                    "person": person,
                    "assignment_seq": ctx.authority[(role, person)],
                },
                authority=None,
            )

        return self._project_command(
            code, actor, request_id, {"command": "unassign", "role": role, "person": person}, body
        )

    # -- projects: doing the work ------------------------------------------------------------

    def complete_task(
        self, code: str, role: str, *, actor: str, note: str | None = None, request_id: str | None = None
    ) -> Event:
        note = inputs.text(note, "the note")

        def body(ctx: ProjectView) -> Event:
            self._require_role(ctx, role)
            self._require_holder(ctx, role)
            self._require_active(ctx, "mark tasks done")
            phase = ctx.phase
            task = phase.task_of(role)
            title = ctx.definition.role_title(role)
            if task is None:
                raise RuleRefused(f"the {title} has no task in {phase.title}")
            done = ctx.tasks.get(role)
            if done is not None:
                raise RuleRefused(
                    f"the {title}'s task '{task}' in {phase.title} is already done "
                    f"(by {done.person} at {done.done_at})"
                )
            seq = ctx.row.seq + 1
            self._write(
                ctx,
                self._sql.insert_task,
                (ctx.row.id, phase.key, ctx.row.round, role, ctx.actor, note, ctx.now, seq),
            )
            return self._append(ctx, "task.done", {"task": task, "note": note}, authority=role)

        return self._project_command(
            code, actor, request_id, {"command": "task.done", "role": role, "note": note}, body
        )

    def approve(
        self, code: str, role: str, *, actor: str, comment: str | None = None, request_id: str | None = None
    ) -> Event:
        comment = inputs.text(comment, "the comment")

        def body(ctx: ProjectView) -> Event:
            gate = self._require_signer(ctx, role, "approve")
            title = ctx.definition.role_title(role)
            prior = ctx.approvals.get(role)
            if prior is not None:
                raise RuleRefused(
                    f"'{gate.title}' is already approved for the {title} "
                    f"(by {prior.person} at {prior.approved_at})"
                )
            if gate.distinct_people:
                for other_role, other in ctx.approvals.items():
                    if other.person == ctx.actor:
                        raise RuleRefused(
                            f"four-eyes rule: {ctx.actor} already approved '{gate.title}' as the "
                            f"{ctx.definition.role_title(other_role)}; one person's approval counts for "
                            f"one role only, so another {title} must approve"
                        )
            seq = ctx.row.seq + 1
            self._write(
                ctx,
                self._sql.insert_approval,
                (ctx.row.id, ctx.row.phase, ctx.row.round, role, ctx.actor, comment, ctx.now, seq),
            )
            return self._append(
                ctx,
                "approve",
                {
                    "gate": gate.title,
                    "decision": "approved",
                    "comment": comment,
                    "meaning": meaning(gate.title, ctx.phase.title, ctx.row.round),
                },
                authority=role,
            )

        return self._project_command(
            code, actor, request_id, {"command": "approve", "role": role, "comment": comment}, body
        )

    def reject(
        self, code: str, role: str, *, actor: str, reason: str, request_id: str | None = None
    ) -> Event:
        reason_text = inputs.text(reason, "the reason", required=True)

        def body(ctx: ProjectView) -> Event:
            gate = self._require_signer(ctx, role, "reject")
            machine = ctx.tpl.machine
            dest = fire(machine, "reject", Binding(ctx.state()))
            from_phase, from_round = ctx.phase, ctx.row.round
            voided = {
                "tasks": [{"role": r, "person": row.person, "seq": row.seq} for r, row in ctx.tasks.items()],
                "approvals": [
                    {"role": r, "person": row.person, "seq": row.seq} for r, row in ctx.approvals.items()
                ],
            }
            new_round, rounds = enter(ctx, dest)
            return self._append(
                ctx,
                "reject",
                {
                    "gate": gate.title,
                    "decision": "rejected",
                    "reason": reason_text,
                    "meaning": meaning(gate.title, from_phase.title, from_round),
                    "to_phase": dest,
                    "to_round": new_round,
                    "voided": voided,
                },
                authority=role,
                changes={"phase": dest, "round": new_round, "rounds": rounds},
            )

        return self._project_command(
            code, actor, request_id, {"command": "reject", "role": role, "reason": reason_text}, body
        )

    def advance(self, code: str, *, actor: str, request_id: str | None = None) -> Event:
        def body(ctx: ProjectView) -> Event:
            lead = self._require_lead(ctx, "advance")
            phase = ctx.phase

            def ready() -> bool:
                evaluation = ctx.evaluation()
                if not evaluation.ready:
                    raise RuleRefused(
                        f"{ctx.code} cannot leave {phase.title} yet: " + "; ".join(evaluation.blockers),
                        list(evaluation.blockers),
                    )
                return True

            dest = fire(ctx.tpl.machine, "advance", Binding(ctx.state(), check_advance=ready))
            data: dict[str, Any] = {
                "tasks": [{"role": r, "person": row.person, "seq": row.seq} for r, row in ctx.tasks.items()],
                "approvals": [
                    {"role": r, "person": row.person, "seq": row.seq} for r, row in ctx.approvals.items()
                ],
            }
            if dest == COMPLETED:
                data.update(to_phase=None, to_round=None, status=COMPLETED)
                changes: dict[str, Any] = {"status": COMPLETED}
            else:
                new_round, rounds = enter(ctx, dest)
                data.update(to_phase=dest, to_round=new_round, status="active")
                changes = {"phase": dest, "round": new_round, "rounds": rounds}
            return self._append(ctx, "advance", data, authority=lead, changes=changes)

        return self._project_command(code, actor, request_id, {"command": "advance"}, body)

    def hold(self, code: str, *, actor: str, reason: str, request_id: str | None = None) -> Event:
        reason_text = inputs.text(reason, "the reason", required=True)
        return self._lead_move(code, actor, "hold", {"reason": reason_text}, request_id)

    def resume(self, code: str, *, actor: str, request_id: str | None = None) -> Event:
        return self._lead_move(code, actor, "resume", {}, request_id)

    def cancel(self, code: str, *, actor: str, reason: str, request_id: str | None = None) -> Event:
        reason_text = inputs.text(reason, "the reason", required=True)
        return self._lead_move(code, actor, "cancel", {"reason": reason_text}, request_id)

    def _lead_move(
        self, code: str, actor: str, trigger: str, data: dict[str, Any], request_id: str | None
    ) -> Event:
        status_after = {"hold": "on_hold", "resume": "active", "cancel": "cancelled"}[trigger]

        def body(ctx: ProjectView) -> Event:
            lead = self._require_lead(ctx, trigger)
            fire(ctx.tpl.machine, trigger, Binding(ctx.state(), held_phase=ctx.row.phase))
            return self._append(
                ctx,
                trigger,
                {**data, "status": status_after},
                authority=lead,
                changes={"status": status_after},
            )

        return self._project_command(code, actor, request_id, {"command": trigger, **data}, body)

    # -- the write path ----------------------------------------------------------------------

    def _project_command(
        self,
        code: str,
        actor: str,
        request_id: str | None,
        command: dict[str, Any],
        body: Callable[[ProjectView], Event],
    ) -> Event:
        code = inputs.project_code(code)
        actor = inputs.person(actor, "the acting person")

        def work(conn: Connection) -> Event:
            return body(self._lock(conn, code, actor))

        return self._idempotent(request_id, actor, {"code": code, **command}, work)

    def _exec(self, conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
        """Run one of the write path's prepared statements on the DBAPI cursor (see storage/statements.py).

        It behaves as SQLAlchemy would: ``before_cursor_execute`` listeners see the statement,
        driver errors come out as :class:`sqlalchemy.exc.DBAPIError`, and a dropped connection
        is invalidated so the pool never hands it out again.
        """
        cursor = conn.connection.cursor()
        try:
            if conn.dispatch.before_cursor_execute:
                conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, False)
            cursor.execute(sql, params)
        except self._dbapi_error as exc:
            dbapi_connection = conn.connection.dbapi_connection
            gone = self._db.dialect.is_disconnect(exc, dbapi_connection, cursor)  # type: ignore[arg-type]
            if gone:
                conn.invalidate(exc)
            raise DBAPIError.instance(
                sql, params, exc, self._dbapi_error, connection_invalidated=gone
            ) from exc
        return cursor

    def _insert_event(self, conn: Connection, event: Event) -> Event:
        self._note_written(event)
        self._exec(conn, self._sql.insert_event, event_params(event))
        return event

    @staticmethod
    def _note_written(event: Event) -> None:
        written = _WRITTEN.get()
        if written is not None:
            written.append(event)  # so Engine._run can tell whether a failed COMMIT landed

    def _project_row(self, conn: Connection, code: str, *, lock: bool) -> ProjectRow | None:
        sql = self._sql.project_for_update if lock else self._sql.project
        found = self._exec(conn, sql, (code,)).fetchone()
        return None if found is None else ProjectRow._make(found)

    def _lock(self, conn: Connection, code: str, actor: str) -> ProjectView:
        if self._pg:
            # One round trip for BEGIN, the row lock and the round: the round query runs after the
            # lock is granted, so under READ COMMITTED it sees whatever the previous holder committed.
            locked, round_rows = self._pipeline(
                conn,
                [
                    (self._sql.project_for_update, (code,)),
                    (self._sql.round_by_code, (code, actor, code, code)),
                ],
            )
            found = locked.fetchone()
            row = None if found is None else ProjectRow._make(found)
        else:
            row = self._project_row(conn, code, lock=True)
        if row is None:
            raise NotFound(f"there is no project {code}")
        ctx = ProjectView(
            conn, row, self._template(conn, row.template_id), actor, max(utcnow(), row.updated_at)
        )
        if self._pg:
            self._take_round(ctx, round_rows.fetchall())
        else:
            self._load_round(ctx)
        return ctx

    def _pipeline(
        self, conn: Connection, statements: list[tuple[str, tuple[Any, ...]]], *, commit: bool = False
    ) -> list[Any]:
        """PostgreSQL: send several statements (and the COMMIT) in one round trip (psycopg pipeline mode).

        The COMMIT goes through the dialect's ``do_commit``, as SQLAlchemy's own would; the
        transaction's later COMMIT then finds nothing to do.
        """
        driver = conn.connection.driver_connection
        cursors = []
        try:
            with driver.pipeline():  # type: ignore[union-attr]
                for sql, params in statements:
                    cursors.append(self._exec(conn, sql, params))
                if commit:  # as Connection.commit() would: listeners first, then the dialect
                    if conn.dispatch.commit:
                        conn.dispatch.commit(conn)
                    self._db.dialect.do_commit(conn.connection)
        except self._dbapi_error as exc:
            gone = self._db.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)  # type: ignore[arg-type]
            if gone:
                conn.invalidate(exc)
            raise DBAPIError.instance(
                statements[0][0], statements[0][1], exc, self._dbapi_error, connection_invalidated=gone
            ) from exc
        return cursors

    def _write(self, ctx: ProjectView, sql: str, params: tuple[Any, ...]) -> None:
        """A command's own row: written now on SQLite, sent with the COMMIT on PostgreSQL."""
        self._write_now_or_with_commit(ctx.conn, sql, params)

    def _write_now_or_with_commit(self, conn: Connection, sql: str, params: tuple[Any, ...]) -> None:
        deferred = _DEFERRED.get() if self._pg else None
        if deferred is not None:
            deferred.append((sql, params))
        else:
            self._exec(conn, sql, params)

    def _load_round(self, ctx: ProjectView) -> None:
        row = ctx.row
        self._take_round(
            ctx,
            self._exec(
                ctx.conn,
                self._sql.round,
                (
                    row.id,
                    ctx.actor,
                    row.id,
                    row.phase,
                    row.round,
                    row.id,
                    row.phase,
                    row.round,
                ),
            ).fetchall(),
        )

    @staticmethod
    def _take_round(ctx: ProjectView, rows: list[Any]) -> None:
        for kind, role, person, when, seq, text in rows:
            if kind == "a":
                ctx.team.setdefault(role, []).append(person)
                ctx.authority[(role, person)] = seq
            elif kind == "t":
                ctx.tasks[role] = DoneTask(person, text, when, seq)
            elif kind == "g":
                ctx.approvals[role] = Signature(person, text, when, seq)
            else:
                ctx.privileges.add(role)
        for people in ctx.team.values():
            people.sort()

    def _append(
        self,
        ctx: ProjectView,
        action: str,
        data: dict[str, Any],
        *,
        authority: str | None,
        changes: dict[str, Any] | None = None,
    ) -> Event:
        """Append the command's event to the project's chain and move the chain head (and state)."""
        row = ctx.row
        seq = row.seq + 1
        full: dict[str, Any] = {
            "template": ctx.tpl.ref,
            "phase_title": ctx.phase.title,
            "round": row.round,
            **data,
        }
        if authority is not None:
            full["role"] = authority
            full["role_title"] = ctx.definition.role_title(authority)
            full["authority"] = {
                "role": authority,
                "assignment_seq": ctx.authority.get((authority, ctx.actor)),
            }
        event = new_event(row.code, seq, row.head_hash, ctx.now, ctx.actor, action, row.phase, full)
        moved = changes or {}
        update = (
            self._sql.update_project,
            (
                seq,
                event.hash,
                ctx.now,
                moved.get("phase", row.phase),
                moved.get("round", row.round),
                moved.get("rounds", row.rounds),
                moved.get("status", row.status),
                row.id,
                row.seq,
            ),
        )
        self._note_written(event)
        if self._pg:
            # The command's rows, its event and the head move go out with the COMMIT, in one
            # round trip (Engine._run). No rowcount check is needed there: under the row lock the
            # head cannot have moved, and if it had, the (chain, prev_hash) and (chain, seq)
            # constraints would refuse the event and the whole transaction with it.
            self._write(ctx, self._sql.insert_event, event_params(event))
            self._write(ctx, *update)
        else:
            self._exec(ctx.conn, self._sql.insert_event, event_params(event))
            if self._exec(ctx.conn, *update).rowcount != 1:  # impossible under BEGIN IMMEDIATE
                raise Conflict(
                    f"project {row.code} changed while this command ran; nothing was changed, run it again"
                )
        return event

    # -- permission checks -------------------------------------------------------------------

    @staticmethod
    def _require_role(ctx: ProjectView, role: str) -> None:
        if ctx.definition.role(role) is None:
            raise NotFound(
                f"template {ctx.tpl.key} has no role {inputs.shown(role)} "
                f"(roles: {', '.join(ctx.definition.role_keys)})"
            )

    @staticmethod
    def _require_holder(ctx: ProjectView, role: str) -> None:
        if not ctx.holds(role):
            holders = ", ".join(ctx.team.get(role, ())) or "nobody yet"
            raise NotPermitted(
                f"{ctx.actor} does not hold the {ctx.definition.role_title(role)} role on {ctx.code} "
                f"(held by: {holders})"
            )

    @staticmethod
    def _require_lead(ctx: ProjectView, doing: str) -> str:
        lead = ctx.definition.lead
        if not ctx.holds(lead):
            holders = ", ".join(ctx.team.get(lead, ())) or "nobody yet"
            raise NotPermitted(
                f"only the {ctx.definition.role_title(lead)} may {doing} {ctx.code} "
                f"({ctx.actor} does not hold that role; held by: {holders})"
            )
        return lead

    @staticmethod
    def _require_assigner(ctx: ProjectView) -> None:
        if "admin" in ctx.privileges or ctx.holds(ctx.definition.lead):
            return
        raise NotPermitted(
            f"{ctx.actor} may not change the team of {ctx.code}: that needs the admin grant or the "
            f"{ctx.definition.role_title(ctx.definition.lead)} role"
        )

    @staticmethod
    def _require_active(ctx: ProjectView, doing: str) -> None:
        status = ctx.row.status
        if status == "on_hold":
            raise RuleRefused(f"project {ctx.code} is on hold; resume it before you {doing}")
        if status != "active":
            raise RuleRefused(f"project {ctx.code} is {status}; nobody can {doing} any more")

    def _require_signer(self, ctx: ProjectView, role: str, verb: str) -> Any:
        self._require_role(ctx, role)
        self._require_holder(ctx, role)
        self._require_active(ctx, f"{verb} a gate")
        gate = ctx.phase.gate
        if gate is None:
            raise RuleRefused(f"{ctx.phase.title} has no gate to {verb}")
        if role not in gate.approvers:
            titles = ", ".join(ctx.definition.role_title(r) for r in gate.approvers)
            raise RuleRefused(
                f"the {ctx.definition.role_title(role)} does not sign '{gate.title}' "
                f"(its approvers: {titles})"
            )
        return gate

    def _can_read(self, conn: Connection, actor: str | None, project_id: int, code: str) -> None:
        if actor is None:
            return
        actor = inputs.person(actor, "the acting person")
        if self._privileges(conn, actor) & {"admin", "auditor"}:
            return
        member = conn.execute(
            select(t_assignments.c.role)
            .where(t_assignments.c.project_id == project_id, t_assignments.c.person == actor)
            .limit(1)
        ).first()
        if member is None:
            raise NotPermitted(_no_read(actor, code))

    # -- reading -----------------------------------------------------------------------------

    def status(self, code: str, *, actor: str | None = None, at: str | None = None) -> ProjectStatus:
        """The project as it stands (or stood at ``at``): phase, round, tasks, gate, team, blockers."""
        if at is not None:
            return self.status_at(code, at, actor=actor)
        code = inputs.project_code(code)

        def work(conn: Connection) -> ProjectStatus:
            row = self._project_row(conn, code, lock=False)
            if row is None:
                raise NotFound(f"there is no project {code}")
            reader = None if actor is None else inputs.person(actor, "the acting person")
            ctx = ProjectView(conn, row, self._template(conn, row.template_id), reader or "", row.updated_at)
            self._load_round(ctx)  # also reads the reader's grants: the permission check needs no query
            if (
                reader is not None
                and not (ctx.privileges & {"admin", "auditor"})
                and not any(reader in people for people in ctx.team.values())
            ):
                raise NotPermitted(_no_read(reader, code))
            return status_of(ctx)

        return self._read(work)

    def list_projects(
        self,
        *,
        actor: str | None = None,
        status: str | None = None,
        template: str | None = None,
        phase: str | None = None,
    ) -> list[ProjectSummary]:
        """The board: every project ``actor`` may read, with what each is waiting on."""

        def work(conn: Connection) -> list[ProjectSummary]:
            stmt = select(t_projects).order_by(t_projects.c.code)
            if status is not None:
                stmt = stmt.where(t_projects.c.status == status)
            if phase is not None:
                stmt = stmt.where(t_projects.c.phase == phase)
            if template is not None:
                stmt = stmt.where(
                    t_projects.c.template_id.in_(
                        select(t_templates.c.id).where(t_templates.c.key == template)
                    )
                )
            if actor is not None:
                who = inputs.person(actor, "the acting person")
                if not self._privileges(conn, who) & {"admin", "auditor"}:
                    stmt = stmt.where(
                        t_projects.c.id.in_(
                            select(t_assignments.c.project_id).where(t_assignments.c.person == who)
                        )
                    )
            out = []
            for row in conn.execute(stmt).all():
                ctx = ProjectView(conn, row, self._template(conn, row.template_id), "", row.updated_at)
                self._load_round(ctx)
                st = status_of(ctx)
                out.append(
                    ProjectSummary(
                        code=row.code,
                        name=row.name,
                        client=row.client,
                        template=ctx.tpl.key,
                        template_version=ctx.tpl.version,
                        phase=row.phase,
                        phase_title=ctx.phase.title,
                        round=row.round,
                        status=row.status,
                        waiting_on=st.blockers,
                        updated_at=row.updated_at,
                    )
                )
            return out

        return self._read(work)

    def history(
        self,
        code: str,
        *,
        actor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        by: str | None = None,
        action: str | None = None,
        phase: str | None = None,
        last: int | None = None,
    ) -> list[Event]:
        """The project's events, oldest first, optionally filtered (``last``: only the newest N)."""
        return list(
            self.iter_history(
                code, actor=actor, since=since, until=until, by=by, action=action, phase=phase, last=last
            )
        )

    def iter_history(
        self,
        code: str,
        *,
        actor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        by: str | None = None,
        action: str | None = None,
        phase: str | None = None,
        last: int | None = None,
    ) -> Iterator[Event]:
        code = inputs.project_code(code)
        since_at = None if since is None else inputs.normalize_time(since)
        until_at = None if until is None else inputs.normalize_time(until)

        reader = None if actor is None else inputs.person(actor, "the acting person")
        filters = [
            ("at >= ?", since_at),
            ("at <= ?", until_at),
            ("actor = ?", by),
            ("action = ?", action),
            ("phase = ?", phase),
        ]
        where = "".join(f" AND {clause}" for clause, value in filters if value is not None)
        params = tuple(value for _, value in filters if value is not None)
        if last is not None:
            if last < 0:
                raise UsageError("--last must not be negative")
            sql = f"{self._sql.events} WHERE chain = ?{where} ORDER BY seq DESC LIMIT {int(last)}"
        else:
            sql = f"{self._sql.events} WHERE chain = ?{where} ORDER BY seq"
        if self._pg:
            sql = sql.replace("?", "%s")

        def work(conn: Connection) -> list[Event]:
            found = self._exec(conn, self._sql.read_access, (reader or "", reader or "", code)).fetchone()
            if found is None:
                raise NotFound(f"there is no project {code}")
            if reader is not None and not (found[1] or found[2]):
                raise NotPermitted(_no_read(reader, code))
            rows = self._exec(conn, sql, (code, *params)).fetchall()
            if last is not None:
                rows.reverse()
            return [Event(*r) for r in rows]

        yield from self._read(work)

    def verify_audit(
        self,
        code: str | None = None,
        *,
        actor: str | None = None,
        checkpoint: str | Path | None = None,
        jobs: int | None = None,
    ) -> AuditReport:
        """Recompute every hash chain (or one project's), streaming; report the first broken event.

        ``checkpoint`` (a checkpoint file) also requires every chain it recorded to still
        reach its recorded length and head; a checkpoint file that was altered raises AuditBroken.
        ``jobs``: processes to verify a whole SQLite database with (default: one per core,
        up to 4, from 250k events on; see workflow/verify_parallel.py); 1 verifies in one pass.
        """
        from workflow.domain.checkpoint import checkpoint_key, load_checkpoint, read_checkpoint

        jobs = inputs.jobs(jobs)

        cp = None
        if checkpoint is not None:
            cp = load_checkpoint(
                read_checkpoint(checkpoint), checkpoint_key(), source=f"checkpoint {checkpoint}"
            )

        def work(conn: Connection) -> AuditReport:
            self._require_audit_reader(conn, actor, "verify the audit trail")
            chain = None
            if code is not None:
                chain = inputs.project_code(code)
                if conn.execute(
                    select(t_projects.c.id).where(t_projects.c.code == chain)
                ).first() is None and (cp is None or chain not in cp.chains):
                    raise NotFound(f"there is no project {chain}")
            if cp is None:
                return _verify(conn, chain, jobs)
            report = _verify(
                conn, chain, jobs, checkpoint=cp.chains, checkpoint_label=f"the checkpoint of {cp.created_at}"
            )
            return replace(report, checkpoint_created_at=cp.created_at, checkpoint_signed=cp.signed)

        return self._snapshot(work)

    # -- audit: checkpoints, export, the past, reports (workflow/checkpoint, export, replay, report) --

    def _snapshot(self, work: Callable[[Connection], R]) -> R:
        """Like _read, in one snapshot on every backend (REPEATABLE READ on PostgreSQL)."""
        from workflow.storage.snapshot import snapshot_transaction

        try:
            with snapshot_transaction(self._db) as conn:
                return work(conn)
        except PhasegateError:
            raise
        except DBAPIError as exc:
            raise translate_error(exc) from exc

    def _require_audit_reader(self, conn: Connection, actor: str | None, doing: str) -> None:
        if actor is None:
            return
        who = inputs.person(actor, "the acting person")
        if not self._privileges(conn, who) & {"admin", "auditor"}:
            raise NotPermitted(f"{who} may not {doing}: that needs the admin or auditor grant")

    def checkpoint(self, *, actor: str | None = None, jobs: int | None = None) -> Checkpoint:
        """Verify every chain and state its length and head (signed with $PHASEGATE_CHECKPOINT_KEY if set)."""
        from workflow.domain.checkpoint import checkpoint_key, make_checkpoint
        from workflow.errors import AuditBroken

        key = checkpoint_key()
        jobs = inputs.jobs(jobs)

        def work(conn: Connection) -> Checkpoint:
            self._require_audit_reader(conn, actor, "write an audit checkpoint")
            heads: dict[str, tuple[int, str]] = {}
            report = _verify(conn, None, jobs, collect=heads)
            if not report.ok:
                raise AuditBroken(
                    f"audit verification failed, so no checkpoint was written: {report.first_broken}"
                )
            return make_checkpoint(heads, utcnow(), key)

        return self._snapshot(work)

    def export(
        self, out: TextIO, fmt: str = "jsonl", *, project: str | None = None, actor: str | None = None
    ) -> int:
        """Stream every event (or one project's) to ``out`` as JSON Lines or CSV; returns the count."""
        from workflow.storage.export import export_events

        chain = None if project is None else inputs.project_code(project)

        def work(conn: Connection) -> int:
            self._require_audit_reader(conn, actor, "export the audit trail")
            if (
                chain is not None
                and conn.execute(select(t_projects.c.id).where(t_projects.c.code == chain)).first() is None
            ):
                raise NotFound(f"there is no project {chain}")
            return export_events(conn, out, fmt, chain)

        return self._snapshot(work)

    def status_at(self, code: str, at: str, *, actor: str | None = None) -> ProjectStatus:
        """The project as it stood at ``at`` (ISO 8601), rebuilt from its events up to and including then."""
        from workflow.domain.replay import replay, status_of

        code = inputs.project_code(code)
        moment = inputs.normalize_time(at)

        def work(conn: Connection) -> ProjectStatus:
            row = conn.execute(select(t_projects.c.id).where(t_projects.c.code == code)).first()
            if row is None:
                raise NotFound(f"there is no project {code}")
            self._can_read(conn, actor, row.id, code)
            rows = conn.execute(
                select(t_events)
                .where(t_events.c.chain == code, t_events.c.at <= moment)
                .order_by(t_events.c.seq)
            )
            state = replay(code, (Event.from_row(r) for r in rows))
            if state.seq == 0:
                raise NotFound(f"project {code} did not exist yet at {moment}")
            return status_of(state, self._replay_template(conn, state.template), moment)

        return self._snapshot(work)

    def _replay_template(self, conn: Connection, ref: dict[str, Any]) -> TemplateVersion:
        return self._template(conn, self._template_row(conn, ref["key"], ref["version"]).id)

    def report(self, code: str, *, actor: str | None = None) -> ProjectReport:
        """Each phase visit: start, end, time in work, time waiting on each gate role, who signed."""
        from workflow.reports.timeline import project_report

        code = inputs.project_code(code)

        def work(conn: Connection) -> ProjectReport:
            row = conn.execute(
                select(t_projects.c.id, t_projects.c.template_id).where(t_projects.c.code == code)
            ).first()
            if row is None:
                raise NotFound(f"there is no project {code}")
            self._can_read(conn, actor, row.id, code)
            events = [
                Event.from_row(r)
                for r in conn.execute(
                    select(t_events).where(t_events.c.chain == code).order_by(t_events.c.seq)
                )
            ]
            return project_report(code, events, self._template(conn, row.template_id).definition, utcnow())

        return self._snapshot(work)

    def template_report(self, key: str, *, actor: str | None = None) -> TemplateReport:
        """Every project of a template (all versions): median time per phase and gate role, longest waits."""
        from workflow.reports.timeline import project_report, summarize

        def work(conn: Connection) -> TemplateReport:
            self._require_audit_reader(conn, actor, "read reports across projects")
            self._template_row(conn, key, None)  # NotFound for an unknown key
            ids = select(t_templates.c.id).where(t_templates.c.key == key)
            projects = conn.execute(
                select(t_projects.c.code, t_projects.c.template_id)
                .where(t_projects.c.template_id.in_(ids))
                .order_by(t_projects.c.code)
            ).all()
            now = utcnow()
            reports = []
            for p in projects:
                events = [
                    Event.from_row(r)
                    for r in conn.execute(
                        select(t_events).where(t_events.c.chain == p.code).order_by(t_events.c.seq)
                    )
                ]
                definition = self._template(conn, p.template_id).definition
                reports.append(project_report(p.code, events, definition, now))
            return summarize(key, reports)

        return self._snapshot(work)

    # -- completion helpers for the CLI ------------------------------------------------------

    def project_codes(self, prefix: str = "") -> list[str]:
        def work(conn: Connection) -> list[str]:
            stmt = select(t_projects.c.code).where(t_projects.c.code.startswith(prefix, autoescape=True))
            return [r.code for r in conn.execute(stmt.order_by(t_projects.c.code).limit(200))]

        return self._read(work)

    def template_keys(self) -> list[str]:
        def work(conn: Connection) -> list[str]:
            return [
                r.key for r in conn.execute(select(t_templates.c.key).distinct().order_by(t_templates.c.key))
            ]

        return self._read(work)

    def project_roles(self, code: str) -> list[str]:
        def work(conn: Connection) -> list[str]:
            row = conn.execute(select(t_projects.c.template_id).where(t_projects.c.code == code)).first()
            if row is None:
                return []
            return list(self._template(conn, row.template_id).definition.role_keys)

        return self._read(work)


# -- module helpers ----------------------------------------------------------------------------


def _verify(conn: Connection, chain: str | None, jobs: int | None, **options: Any) -> AuditReport:
    """One chain, or every chain: in one pass, or split over processes for a large SQLite file."""
    from workflow.storage.verify import verify_chains

    if chain is None:
        from workflow.storage import verify_parallel

        path = verify_parallel.sqlite_file(conn)
        ranges = verify_parallel.plan(conn, jobs) if path is not None else []
        if path is not None and len(ranges) > 1:
            return verify_parallel.verify_split(conn, path, ranges, **options)
    return verify_chains(conn, chain, **options)


def _no_read(person: str, code: str) -> str:
    return f"{person} has no role on {code} and no admin or auditor grant, so may not read it"


def _template_info(row: Row[Any]) -> TemplateInfo:
    return TemplateInfo(row.key, row.version, row.title, row.sha256, row.published_at, row.published_by)


def _event_from_dict(d: dict[str, Any]) -> Event:
    return Event(
        d["chain"],
        d["seq"],
        d["at"],
        d["actor"],
        d["action"],
        d["phase"],
        canonical_json(d["data"]),
        d["prev_hash"],
        d["hash"],
    )
