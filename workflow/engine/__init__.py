"""The Engine: phasegate's Python API, a facade over one module per kind of work.

============================  ==================================================
``engine/staffing.py``        creating projects, assigning and unassigning roles, checking the staff
``engine/work.py``            tasks, gate sign-offs, undo, the lead's moves
``engine/templates.py``       publishing and reading templates
``engine/grants.py``          the first admin, admin and auditor grants
``engine/people/accounts.py``          accounts, passwords and API tokens
``engine/people/signin.py``          credentials to an identity (the server's only way in)
``engine/schedule/due.py``       due dates set or moved by the lead
``engine/schedule/tick.py``         ``tick``: overdue notices, reminders, escalations
``engine/schedule/feed.py``        the iCalendar feed and its key
``engine/notifications.py``   webhooks, e-mail choices, the outbox's list and retry
``engine/reads.py``           status (now or then), history
``engine/board.py``           the board, streamed in pages
``engine/insights.py``        the figures across projects (issue 25)
``engine/audit.py``           verify, checkpoints, export, reports
``engine/deliverables/``      versions of a phase's documents, their bytes, the proof from a file
``engine/links/``             outside signers: invitations, the signing link, its code and decision
``engine/running.py``         how every project command runs (lock, rules, event)
``engine/commands.py``        each project command's body, by name (``@implements``)
``engine/moves.py``           a project's status with the moves a person may make
``engine/protocol.py``        ``EngineAPI``: what the CLI asks of this and of RemoteEngine
============================  ==================================================

The project commands (assign … cancel, set_due) are declared in :mod:`workflow.domain.commands`;
the Engine inherits their methods and runs each one's body in :meth:`Engine._command`.

Each method is the module function of the same name with the Engine's
:class:`~workflow.storage.store.Store` bound as its first argument (:func:`_bound`
keeps its signature, its types and its docstring). ``actor`` is who acts: a login name
(asserted, direct-database mode) or an :class:`~workflow.domain.identity.Identity` the
server verified; ``reader`` is who reads (None: the caller, trusted like the database
file). Project writes take ``expected_seq``: the project's last event as the caller saw
it (HTTP ``If-Match``), refused when it moved on.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from workflow.domain.audit.events import Event
from workflow.domain.commands import ProjectCommands
from workflow.domain.identity import Identity
from workflow.engine import audit as _audit
from workflow.engine import board as _board
from workflow.engine import commands as _commands
from workflow.engine import delegations as _delegations
from workflow.engine import grants as _grants
from workflow.engine import insights as _insights
from workflow.engine import moves as _moves
from workflow.engine import notifications as _notifications
from workflow.engine import reads as _reads
from workflow.engine import staffing as _staffing
from workflow.engine import templates as _templates
from workflow.engine import work as _work  # noqa: F401 (its commands' bodies register themselves)
from workflow.engine.deliverables import add as _deliverables_add
from workflow.engine.deliverables import proof as _proof
from workflow.engine.deliverables import read as _deliverables
from workflow.engine.links import invite as _invite
from workflow.engine.links import signing as _signing
from workflow.engine.people import accounts as _people
from workflow.engine.people import guesses as _guesses
from workflow.engine.people import known as _known
from workflow.engine.people import signin as _signin
from workflow.engine.schedule import due as _schedules  # noqa: F401 (set_due's body registers itself)
from workflow.engine.schedule import feed as _calendar
from workflow.engine.schedule import tick as _ticking
from workflow.storage.store import Store

if TYPE_CHECKING:
    from workflow.domain.audit.checkpoint import Checkpoint
    from workflow.domain.results import AuditReport, ProjectStatus, ProjectSummary
    from workflow.reports.timeline import ProjectReport, TemplateReport
    from workflow.storage.audit.export import TextSink

P = ParamSpec("P")
R = TypeVar("R")
Actor = str | Identity  # who acts: a login name (asserted), or an Identity the server verified


def _bound(fn: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Engine, P], R]:
    """``fn(store, ...)`` as a method of the Engine, ``self.store`` given."""

    @functools.wraps(fn)
    def method(self: Engine, *args: P.args, **kwargs: P.kwargs) -> R:
        return fn(self.store, *args, **kwargs)

    return method


def _forgetting(fn: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Engine, P], R]:
    """:func:`_bound`, for a change to a credential: this Engine forgets the tokens it remembered
    as soon as the change is committed (other workers hear of it: people/known.py)."""

    @functools.wraps(fn)
    def method(self: Engine, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(self.store, *args, **kwargs)
        finally:
            self.known_tokens.forget()

    return method


class Engine(ProjectCommands):
    """phasegate's Python API. ``Engine(url)`` opens (and on first use creates) the database.

    The project commands (assign … cancel, set_due) are declared in :mod:`workflow.domain.commands`
    and inherited from there; each runs its body (``@implements``) in :meth:`_command`."""

    def __init__(self, url: str | None = None, *, create: bool = True, pool_size: int | None = None,
                 pool_wait: float | None = None) -> None:
        """``create=False``: only open a database that is phasegate's at this version; write nothing.

        ``pool_size``: connections kept for threads other than this one (a server's; default 2);
        ``pool_wait``: seconds a thread waits for one when all are in use (default 5)."""
        # The built-in templates are published in the migration's own transaction: a crash right
        # after the schema is created cannot leave a database without them.
        self.store = Store(url, on_create=_templates.publish_missing_builtins, create=create,
                           pool_size=pool_size, pool_wait=pool_wait)
        self.url = self.store.url  # shown without its password
        self.known_tokens = _known.KnownTokens(self.store)

    def close(self) -> None:
        self.known_tokens.close()
        self.store.close()

    def identify_token(self, secret: str) -> Identity:
        """The identity a bearer token proves (:func:`workflow.engine.people.signin.identify_token`;
        on PostgreSQL remembered by this Engine until a credential changes: people/known.py)."""
        return self.known_tokens.identify(secret)

    def _command(self, name: str, given: dict[str, Any]) -> Event:
        if given.get("actor") is None:
            raise TypeError(f"{name}() needs actor=: who acts")
        return _commands.run(self.store, name, given)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- templates, grants, people -------------------------------------------------------------------
    init = _bound(_grants.init)
    grant = _bound(_grants.grant)
    revoke = _bound(_grants.revoke)
    grants = _bound(_grants.grants)
    grants_of = _bound(_grants.grants_of)
    templates = _bound(_templates.templates)
    template = _bound(_templates.template)
    publish_template = _bound(_templates.publish_template)
    publish_builtins = _bound(_templates.publish_builtins)
    template_keys = _bound(_templates.template_keys)
    versions = _bound(_templates.versions)
    phase_choices = _bound(_templates.phase_choices)
    add_user = _bound(_people.add_user)
    users = _bound(_people.users)
    assignable = _bound(_people.assignable)
    disable_user = _forgetting(_people.disable_user)
    enable_user = _forgetting(_people.enable_user)
    set_password = _forgetting(_people.set_password)
    change_account = _forgetting(_people.change_account)
    create_token = _bound(_people.create_token)
    tokens = _bound(_people.tokens)
    revoke_token = _forgetting(_people.revoke_token)
    delegate = _bound(_delegations.delegate)
    delegations = _bound(_delegations.delegations)
    end_delegation = _bound(_delegations.end_delegation)

    # -- projects -------------------------------------------------------------------------------------
    create_project = _bound(_staffing.create_project)
    check_project = _bound(_staffing.check_project)
    tick = _bound(_ticking.tick)
    calendar = _bound(_calendar.calendar)
    calendar_entries = _bound(_calendar.entries)
    new_calendar_key = _bound(_calendar.new_calendar_key)
    calendar_owner = _bound(_calendar.calendar_owner)

    # -- deliverables (engine/deliverables/: the API written down in its __init__) ----------------------
    add_deliverable = _bound(_deliverables_add.add_deliverable)
    may_add_deliverable = _bound(_deliverables_add.may_add_deliverable)
    deliverables = _bound(_deliverables.deliverables)
    open_deliverable = _bound(_deliverables.open_deliverable)
    prove = _bound(_proof.prove)
    verify_deliverables = _bound(_proof.verify_deliverables)

    # -- outside signers (engine/links/: issue 24); invite and revoke_invite are project commands --------
    invitations = _bound(_invite.invitations)
    link = _bound(_signing.link)
    link_send_code = _bound(_signing.link_send_code)
    link_decide = _bound(_signing.link_decide)
    link_file = _bound(_signing.link_file)

    # -- notifications (delivering them: workflow/delivery) -------------------------------------------
    add_webhook = _bound(_notifications.add_webhook)
    webhooks = _bound(_notifications.webhooks)
    remove_webhook = _bound(_notifications.remove_webhook)
    notifications = _bound(_notifications.notifications)
    set_notifications = _bound(_notifications.set_notifications)
    outbox = _bound(_notifications.outbox)
    retry_notification = _bound(_notifications.retry_notification)

    # -- reading --------------------------------------------------------------------------------------
    status_and_moves = _bound(_moves.status_and_moves)
    iter_projects = _bound(_board.iter_projects)
    insights = _bound(_insights.insights)
    work_of = _bound(_board.work_of)
    project_codes = _bound(_reads.project_codes)
    project_roles = _bound(_reads.project_roles)
    memberships = _bound(_reads.memberships)

    def status(
        self, code: str, *, reader: Actor | None = None, at: str | None = None, actor: str | None = None
    ) -> ProjectStatus:
        """The project as it stands (or stood at ``at``): phase, round, tasks, gate, team, blockers."""
        return _reads.status(self.store, code, reader=_reader(reader, actor), at=at)

    def status_at(
        self, code: str, at: str, *, reader: Actor | None = None, actor: str | None = None
    ) -> ProjectStatus:
        return _reads.status_at(self.store, code, at, reader=_reader(reader, actor))

    def list_projects(self, *, actor: str | None = None, **filters: Any) -> list[ProjectSummary]:
        """The board as a list (:meth:`iter_projects` streams it; it takes the same keywords)."""
        if actor is not None:
            filters["reader"] = _reader(filters.get("reader"), actor)
        return list(self.iter_projects(**filters))

    def history(self, code: str, **filters: Any) -> list[Event]:
        """The project's events, oldest first, as a list (:meth:`iter_history` streams them)."""
        return list(self.iter_history(code, **filters))

    def iter_history(self, code: str, *, by: str | None = None, **filters: Any) -> Iterator[Event]:
        """:func:`workflow.engine.reads.iter_history`: ``actor`` keeps one person's events (the
        CLI's ``--actor``); ``last`` the newest N; ``after`` and ``limit`` page. (``by=`` is the
        old name of ``actor=``.)"""
        if by is not None:
            warnings.warn(
                "history(by=...) is now history(actor=...); the reader is reader=...",
                DeprecationWarning,
                stacklevel=3,
            )
            filters.setdefault("actor", by)
        return _reads.iter_history(self.store, code, **filters)

    # -- audit ----------------------------------------------------------------------------------------

    def verify_audit(
        self,
        code: str | None = None,
        *,
        raise_on_broken: bool = False,
        actor: str | None = None,
        replay: bool = True,
        **options: Any,
    ) -> AuditReport:
        """:func:`workflow.engine.audit.verify_audit`: the hash chains (every one, or ``code``'s),
        then (``replay``, the default, with every chain intact) the state tables compared with the
        chains' replay (``report.state_checked``). ``raise_on_broken``: raise
        :class:`~workflow.errors.AuditBroken` instead of returning a report with ``ok=False``."""
        options["reader"] = _reader(options.get("reader"), actor)
        report = _audit.verify_audit(self.store, code, replay=replay, **options)
        if raise_on_broken:
            report.raise_for_broken()
        return report

    def checkpoint(
        self, *, reader: Actor | None = None, jobs: int | None = None, actor: str | None = None
    ) -> Checkpoint:
        return _audit.checkpoint(self.store, reader=_reader(reader, actor), jobs=jobs)

    def export(
        self,
        out: TextSink,
        fmt: str = "jsonl",
        *,
        project: str | None = None,
        reader: Actor | None = None,
        raw: bool = False,
        actor: str | None = None,
    ) -> int:
        return _audit.export(self.store, out, fmt, project=project, reader=_reader(reader, actor), raw=raw)

    def report(self, code: str, *, reader: Actor | None = None, actor: str | None = None) -> ProjectReport:
        return _audit.report(self.store, code, reader=_reader(reader, actor))

    search_events = _bound(_audit.search_events)

    def template_report(
        self, key: str, *, reader: Actor | None = None, actor: str | None = None
    ) -> TemplateReport:
        return _audit.template_report(self.store, key, reader=_reader(reader, actor))

    # -- signing in (engine/people/signin.py): credentials to an identity, the server's only way in --
    identify_proxy = _bound(_signin.identify_proxy)
    identify_session = _bound(_signin.identify_session)
    sign_in = _bound(_signin.sign_in)
    open_session = _bound(_signin.open_session)
    close_session = _bound(_signin.close_session)
    # links that cannot be used, counted per client address (engine/people/guesses.py)
    link_guesses_waiting = _bound(_guesses.link_guesses_waiting)
    link_guess_missed = _bound(_guesses.link_guess_missed)


def _reader(reader: Actor | None, actor: str | None) -> Actor | None:
    """``reader``, or the deprecated ``actor=`` of a read (one name, one meaning: actor is who acts)."""
    if actor is not None:
        warnings.warn("on a read, actor=... is now reader=...", DeprecationWarning, stacklevel=3)
        return reader if reader is not None else actor
    return reader
