"""What auditors do: verify the chains, write checkpoints, export the record, read reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow import settings
from workflow.domain import inputs, rules
from workflow.domain.audit.events import Event
from workflow.domain.identity import Identity, acting
from workflow.domain.results import AuditReport
from workflow.domain.vocabulary import EVENT_ACTIONS
from workflow.engine.reads import require_readable
from workflow.errors import AuditBroken, NotFound, UsageError
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.store import Store
from workflow.storage.tables import events as t_events
from workflow.storage.tables import projects as t_projects
from workflow.storage.tables import templates as t_templates
from workflow.storage.templates import template_row
from workflow.storage.transaction import ReadTx

if TYPE_CHECKING:
    from workflow.domain.audit.checkpoint import Checkpoint
    from workflow.reports.timeline import ProjectReport, TemplateReport
    from workflow.storage.audit.export import TextSink


def verify_audit(
    store: Store,
    code: str | None = None,
    *,
    reader: str | Identity | None = None,
    checkpoint: str | Path | Checkpoint | None = None,
    jobs: int | None = None,
    replay: bool = True,
) -> AuditReport:
    """Recompute every hash chain (or one project's), streaming; report the first broken event.

    ``checkpoint`` (a checkpoint file) also requires every chain it recorded to still
    reach its recorded length and head; a checkpoint file that was altered raises AuditBroken.
    A :class:`Checkpoint` the caller loaded already (the server reads one from a request's
    body) is taken as it is, with the signature state it was loaded with.
    ``jobs``: processes to verify a whole SQLite database with (default: one per core,
    up to 4, from 250k events on; see workflow/storage/parallel.py); 1 verifies in one pass.
    ``replay``: once every chain is intact, also replay them and compare the state tables
    with the result (storage/audit/state.py; in this process and snapshot), since the
    hashes cover only the events.
    """
    from workflow.domain.audit.checkpoint import Checkpoint, load_checkpoint, read_checkpoint

    jobs = inputs.jobs(jobs)
    cp = None
    if isinstance(checkpoint, Checkpoint):
        cp = checkpoint
    elif checkpoint is not None:
        cp = load_checkpoint(read_checkpoint(checkpoint), settings.current().checkpoint_key,
                             source=f"checkpoint {checkpoint}")

    def work(tx: ReadTx) -> AuditReport:
        _require_auditor(tx, reader, "verify the audit trail")
        chain = None
        if code is not None:
            chain = inputs.project_code(code)
            recorded = cp is not None and chain in cp.chains
            if not recorded and not _exists(tx, chain) and not _has_events(tx, chain):
                raise NotFound(f"there is no project {chain}")
        if cp is None:
            report = _verify(tx.conn, chain, jobs)
        else:
            report = replace(
                _verify(tx.conn, chain, jobs, checkpoint=cp.chains,
                        checkpoint_label=f"the checkpoint of {cp.created_at}"),
                checkpoint_created_at=cp.created_at,
                checkpoint_signed=cp.signed,
                checkpoint_signature=cp.signature_state,
            )
        return _check_state(tx.conn, chain, report) if replay and report.ok else report

    return store.snapshot(work)


def _check_state(conn: Connection, chain: str | None, report: AuditReport) -> AuditReport:
    """``report`` (every chain intact) with the state tables compared with the chains' replay."""
    from workflow.storage.audit.state import verify_state

    broken = verify_state(conn, chain)
    if broken is None:  # the insights' summary rows (issue 25) against the same history
        from workflow.storage.insights.backfill import first_difference

        broken = first_difference(conn, chain)
    return replace(report, ok=broken is None, first_broken=broken, state_checked=True)


def checkpoint(store: Store, *, reader: str | Identity | None = None, jobs: int | None = None) -> Checkpoint:
    """Verify every chain and state its length and head (signed with $PHASEGATE_CHECKPOINT_KEY if set).

    The chains only (no replay of the state tables: a checkpoint records heads, and
    ``audit verify`` checks the state); a project row that is gone still fails it.
    """
    from workflow.domain.audit.checkpoint import make_checkpoint

    key = settings.current().checkpoint_key
    jobs = inputs.jobs(jobs)

    def work(tx: ReadTx) -> Checkpoint:
        _require_auditor(tx, reader, "write an audit checkpoint")
        heads: dict[str, tuple[int, str]] = {}
        report = _verify(tx.conn, None, jobs, collect=heads)
        if not report.ok:
            raise AuditBroken(
                f"audit verification failed, so no checkpoint was written: {report.first_broken}"
            )
        return make_checkpoint(heads, utcnow(), key)

    return store.snapshot(work)


def export(
    store: Store,
    out: TextSink,
    fmt: str = "jsonl",
    *,
    project: str | None = None,
    reader: str | Identity | None = None,
    raw: bool = False,
) -> int:
    """Stream every event (or one project's) to ``out`` as JSON Lines or CSV; returns the count.

    ``raw``: CSV cells exactly as recorded (by default a cell a spreadsheet would run as a
    formula gets a leading ``'``; see storage/audit/export.py).
    """
    from workflow.storage.audit.export import export_events

    chain = None if project is None else inputs.project_code(project)

    def work(tx: ReadTx) -> int:
        _require_auditor(tx, reader, "export the audit trail")
        if chain is not None and not _exists(tx, chain):
            raise NotFound(f"there is no project {chain}")
        return export_events(tx.conn, out, fmt, chain, raw=raw)

    return store.snapshot(work)


def report(store: Store, code: str, *, reader: str | Identity | None = None) -> ProjectReport:
    """Each phase visit: start, end, time in work, time waiting on each gate role, who signed."""
    from workflow.reports.timeline import project_report

    code = inputs.project_code(code)

    def work(tx: ReadTx) -> ProjectReport:
        require_readable(tx, code, None if reader is None else acting(reader).person)
        template_id = tx.core(select(t_projects.c.template_id).where(t_projects.c.code == code)).scalar_one()
        return project_report(code, _events(tx, code), tx.template(template_id).definition, utcnow())

    return store.snapshot(work)


def template_report(store: Store, key: str, *, reader: str | Identity | None = None) -> TemplateReport:
    """Every project of a template (all versions): median time per phase and gate role, longest waits."""
    from workflow.reports.timeline import project_report, summarize

    def work(tx: ReadTx) -> TemplateReport:
        _require_auditor(tx, reader, "read reports across projects")
        template_row(tx, key, None)  # NotFound for an unknown key
        ids = select(t_templates.c.id).where(t_templates.c.key == key)
        projects = tx.core(
            select(t_projects.c.code, t_projects.c.template_id)
            .where(t_projects.c.template_id.in_(ids))
            .order_by(t_projects.c.code)
        ).all()
        now = utcnow()
        reports = [
            project_report(p.code, _events(tx, p.code), tx.template(p.template_id).definition, now)
            for p in projects
        ]
        return summarize(key, reports)

    return store.snapshot(work)


def _require_auditor(tx: ReadTx, reader: str | Identity | None, doing: str) -> None:
    if reader is not None:
        who = acting(reader).person
        rules.require_audit_reader(who, privileges_of(tx, who), doing)


def _exists(tx: ReadTx, code: str) -> bool:
    return tx.core(select(t_projects.c.id).where(t_projects.c.code == code)).first() is not None


def _has_events(tx: ReadTx, code: str) -> bool:
    """Whether ``code`` has a chain (a project whose row is gone still has one to verify)."""
    return tx.core(select(t_events.c.seq).where(t_events.c.chain == code).limit(1)).first() is not None


def _events(tx: ReadTx, code: str) -> Iterator[Event]:
    """The chain's events, oldest first, streamed (a server-side cursor on PostgreSQL)."""
    result = tx.conn.execution_options(stream_results=True, max_row_buffer=1000).execute(
        select(t_events).where(t_events.c.chain == code).order_by(t_events.c.seq)
    )
    with result:
        for row in result:
            yield Event.from_row(row)


def _verify(conn: Connection, chain: str | None, jobs: int | None, **options: Any) -> AuditReport:
    """One chain, or every chain: in one pass, or split over processes for a large SQLite file."""
    from workflow.storage.audit.verify import verify_chains

    if chain is None:
        from workflow.storage.audit import parallel

        path = parallel.sqlite_file(conn)
        ranges = parallel.plan(conn, jobs) if path is not None else []
        if path is not None and len(ranges) > 1:
            return parallel.verify_split(conn, path, ranges, **options)
    return verify_chains(conn, chain, **options)


def search_events(store: Store, *, reader: str | Identity | None = None, actor: str | None = None,
                  action: str | None = None, since: str | None = None, until: str | None = None,
                  limit: int = 100) -> list[Event]:
    """Events across every chain (admins and auditors), newest first, by actor, action and time.

    An auditor's search: it reads the events table in time order with the filters applied
    and stops at ``limit`` (at most 1,000), so a search is bounded however large the record.
    """
    limit = inputs.count(limit, "the number of events", most=1000) or 100
    begin, end = inputs.time_range(since, until)
    if action is not None and action not in EVENT_ACTIONS:
        raise UsageError(f"unknown action {inputs.shown(action)}; use one of: {', '.join(EVENT_ACTIONS)}")

    def work(tx: ReadTx) -> list[Event]:
        _require_auditor(tx, reader, "search the history across projects")
        stmt = select(t_events)
        if actor is not None:
            stmt = stmt.where(t_events.c.actor == inputs.person(actor))
        if action is not None:
            stmt = stmt.where(t_events.c.action == action)
        if begin is not None:
            stmt = stmt.where(t_events.c.at >= begin)
        if end is not None:
            stmt = stmt.where(t_events.c.at <= end)
        rows = tx.core(
            stmt.order_by(t_events.c.at.desc(), t_events.c.chain, t_events.c.seq.desc()).limit(limit)
        )
        return [Event.from_row(r) for r in rows]

    return store.read(work)
