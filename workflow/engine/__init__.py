"""The Engine: phasegate's Python API, a facade over one module per kind of work.

========================  ==================================================
``engine/staffing.py``    creating projects, assigning and unassigning roles
``engine/work.py``        tasks, gate sign-offs, the lead's moves
``engine/templates.py``   publishing and reading templates
``engine/grants.py``      the first admin, admin and auditor grants
``engine/reads.py``       status (now or then), the board, history
``engine/audit.py``       verify, checkpoints, export, reports
``engine/running.py``     how every project command runs (lock, rules, event)
========================  ==================================================

Each method checks nothing itself: it hands its arguments to the function that does
the work, over the :class:`~workflow.storage.store.Store`. In these methods ``actor``
is who acts, or, on a read, who reads (None: the caller is trusted to read all).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.engine import audit, grants, reads, staffing, templates, work
from workflow.storage.store import Store

if TYPE_CHECKING:
    from workflow.domain.checkpoint import Checkpoint
    from workflow.domain.definition import Definition
    from workflow.domain.events import Event
    from workflow.domain.results import AuditReport, ProjectStatus, ProjectSummary, TemplateInfo
    from workflow.reports.timeline import ProjectReport, TemplateReport
    from workflow.storage.export import TextSink


class Engine:
    """phasegate's Python API. ``Engine(url)`` opens (and on first use creates) the database."""

    def __init__(self, url: str | None = None) -> None:
        # The built-in templates are published in the migration's own transaction: a crash right
        # after the schema is created cannot leave a database without them.
        self.store = Store(url, on_create=templates.publish_missing_builtins)
        self.url = self.store.url  # shown without its password

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- templates and grants ------------------------------------------------------------------------

    def init(self, admin: str) -> dict[str, Any]:
        return grants.init(self.store, admin)

    def templates(self) -> list[TemplateInfo]:
        return templates.templates(self.store)

    def template(self, key: str, version: int | None = None) -> tuple[TemplateInfo, Definition, str]:
        return templates.template(self.store, key, version)

    def publish_template(
        self, source: str | bytes | Path, *, actor: str, name: str | None = None
    ) -> tuple[TemplateInfo, bool]:
        return templates.publish_template(self.store, source, actor=actor, name=name)

    def publish_builtins(self) -> list[TemplateInfo]:
        return templates.publish_builtins(self.store)

    def grant(self, person: str, privilege: str, *, actor: str) -> Event:
        return grants.grant(self.store, person, privilege, actor=actor)

    def revoke(self, person: str, privilege: str, *, actor: str) -> Event:
        return grants.revoke(self.store, person, privilege, actor=actor)

    def grants(self, *, reader: str | None = None, actor: str | None = None) -> dict[str, list[str]]:
        """privilege -> people holding it; ``reader`` must be an admin or auditor."""
        return grants.grants(self.store, reader=_reader(reader, actor))

    # -- projects ------------------------------------------------------------------------------------

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
        return staffing.create_project(
            self.store,
            code,
            template=template,
            actor=actor,
            name=name,
            client=client,
            version=version,
            request_id=request_id,
        )

    def assign(
        self, code: str, role: str, person: str, *, actor: str, request_id: str | None = None
    ) -> Event:
        return staffing.assign(self.store, code, role, person, actor=actor, request_id=request_id)

    def unassign(
        self, code: str, role: str, person: str, *, actor: str, request_id: str | None = None
    ) -> Event:
        return staffing.unassign(self.store, code, role, person, actor=actor, request_id=request_id)

    def complete_task(
        self, code: str, role: str, *, actor: str, note: str | None = None, request_id: str | None = None
    ) -> Event:
        return work.complete_task(self.store, code, role, actor=actor, note=note, request_id=request_id)

    def approve(
        self, code: str, role: str, *, actor: str, comment: str | None = None, request_id: str | None = None
    ) -> Event:
        return work.approve(self.store, code, role, actor=actor, comment=comment, request_id=request_id)

    def withdraw(
        self, code: str, role: str, *, actor: str, reason: str | None = None, request_id: str | None = None
    ) -> Event:
        """Take back ``actor``'s approval of the current round's gate as ``role``."""
        return work.withdraw(self.store, code, role, actor=actor, reason=reason, request_id=request_id)

    def reopen_task(
        self, code: str, role: str, *, actor: str, reason: str, request_id: str | None = None
    ) -> Event:
        """Mark ``role``'s task of the current round not done again (a holder of ``role`` or the lead)."""
        return work.reopen_task(self.store, code, role, actor=actor, reason=reason, request_id=request_id)

    def reject(
        self, code: str, role: str, *, actor: str, reason: str, request_id: str | None = None
    ) -> Event:
        return work.reject(self.store, code, role, actor=actor, reason=reason, request_id=request_id)

    def advance(self, code: str, *, actor: str, request_id: str | None = None) -> Event:
        return work.advance(self.store, code, actor=actor, request_id=request_id)

    def hold(self, code: str, *, actor: str, reason: str, request_id: str | None = None) -> Event:
        return work.lead_move(self.store, code, "hold", actor=actor, reason=reason, request_id=request_id)

    def resume(self, code: str, *, actor: str, request_id: str | None = None) -> Event:
        return work.lead_move(self.store, code, "resume", actor=actor, request_id=request_id)

    def cancel(self, code: str, *, actor: str, reason: str, request_id: str | None = None) -> Event:
        return work.lead_move(self.store, code, "cancel", actor=actor, reason=reason, request_id=request_id)

    # -- reading (``reader``: who reads; None: the caller, trusted like the database file) ----------

    def status(
        self, code: str, *, reader: str | None = None, at: str | None = None, actor: str | None = None
    ) -> ProjectStatus:
        """The project as it stands (or stood at ``at``): phase, round, tasks, gate, team, blockers."""
        return reads.status(self.store, code, reader=_reader(reader, actor), at=at)

    def status_at(
        self, code: str, at: str, *, reader: str | None = None, actor: str | None = None
    ) -> ProjectStatus:
        return reads.status_at(self.store, code, at, reader=_reader(reader, actor))

    def list_projects(
        self,
        *,
        reader: str | None = None,
        status: str | None = None,
        template: str | None = None,
        phase: str | None = None,
        actor: str | None = None,
    ) -> list[ProjectSummary]:
        return reads.list_projects(
            self.store, reader=_reader(reader, actor), status=status, template=template, phase=phase
        )

    def history(
        self,
        code: str,
        *,
        reader: str | None = None,
        since: str | None = None,
        until: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        phase: str | None = None,
        last: int | None = None,
        by: str | None = None,
    ) -> list[Event]:
        """The project's events, oldest first; ``actor``: only this person's (as the CLI's ``--actor``);
        ``last``: only the newest N. (``by=`` is the old name of ``actor=``.)"""
        return list(
            self.iter_history(
                code,
                reader=reader,
                since=since,
                until=until,
                actor=actor,
                action=action,
                phase=phase,
                last=last,
                by=by,
            )
        )

    def iter_history(
        self,
        code: str,
        *,
        reader: str | None = None,
        since: str | None = None,
        until: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        phase: str | None = None,
        last: int | None = None,
        by: str | None = None,
    ) -> Iterator[Event]:
        if by is not None:
            warnings.warn(
                "history(by=...) is now history(actor=...); the reader is reader=...",
                DeprecationWarning,
                stacklevel=3,
            )
            actor = actor or by
        return reads.iter_history(
            self.store,
            code,
            reader=reader,
            since=since,
            until=until,
            actor=actor,
            action=action,
            phase=phase,
            last=last,
        )

    # -- audit ---------------------------------------------------------------------------------------

    def verify_audit(
        self,
        code: str | None = None,
        *,
        reader: str | None = None,
        checkpoint: str | Path | None = None,
        jobs: int | None = None,
        raise_on_broken: bool = False,
        actor: str | None = None,
        replay: bool = True,
    ) -> AuditReport:
        """Recompute the hash chains (every one, or ``code``'s); a report of the first broken event.

        ``replay`` (default): with every chain intact, also replay them and compare the
        state tables with the result (``report.state_checked``); False checks the hashes only.
        ``raise_on_broken``: raise :class:`~workflow.errors.AuditBroken` (naming the event)
        instead of returning a report with ``ok=False``.
        """
        report = audit.verify_audit(
            self.store, code, reader=_reader(reader, actor), checkpoint=checkpoint, jobs=jobs, replay=replay
        )
        if raise_on_broken:
            report.raise_for_broken()
        return report

    def checkpoint(
        self, *, reader: str | None = None, jobs: int | None = None, actor: str | None = None
    ) -> Checkpoint:
        return audit.checkpoint(self.store, reader=_reader(reader, actor), jobs=jobs)

    def export(
        self,
        out: TextSink,
        fmt: str = "jsonl",
        *,
        project: str | None = None,
        reader: str | None = None,
        raw: bool = False,
        actor: str | None = None,
    ) -> int:
        return audit.export(self.store, out, fmt, project=project, reader=_reader(reader, actor), raw=raw)

    def report(self, code: str, *, reader: str | None = None, actor: str | None = None) -> ProjectReport:
        return audit.report(self.store, code, reader=_reader(reader, actor))

    def template_report(
        self, key: str, *, reader: str | None = None, actor: str | None = None
    ) -> TemplateReport:
        return audit.template_report(self.store, key, reader=_reader(reader, actor))

    # -- completion helpers for the CLI --------------------------------------------------------------

    def project_codes(self, prefix: str = "") -> list[str]:
        return reads.project_codes(self.store, prefix)

    def template_keys(self) -> list[str]:
        return templates.template_keys(self.store)

    def project_roles(self, code: str) -> list[str]:
        return reads.project_roles(self.store, code)


def _reader(reader: str | None, actor: str | None) -> str | None:
    """``reader``, or the deprecated ``actor=`` of a read (one name, one meaning: actor is who acts)."""
    if actor is not None:
        warnings.warn("on a read, actor=... is now reader=...", DeprecationWarning, stacklevel=3)
        return reader if reader is not None else actor
    return reader
