"""The ``phasegate`` command line: a thin layer over :class:`workflow.engine.Engine`.

Each command parses its arguments, calls one Engine method and prints the result;
no rule lives here. Three things are done in exactly one place each:

* the Engine is built lazily, once, by :class:`Session` (so ``--help``,
  ``template validate`` and ``demo`` never import SQLAlchemy: importing this
  module costs click and :mod:`workflow.errors` only);
* every :class:`~workflow.errors.PhasegateError` becomes ``Error: …`` on stderr
  and its ``exit_code`` (:meth:`PhasegateGroup.invoke`), never a traceback;
* everything printed passes through :func:`workflow.cli.render.safe` /
  :func:`workflow.cli.render.json_text` (:func:`emit`), so nothing a user typed can
  put a terminal escape sequence on someone else's screen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from workflow.domain.vocabulary import PRIVILEGES, PROJECT_ACTIONS, STATUSES
from workflow.errors import AuditBroken, DefinitionError, PhasegateError, RuleRefused

if TYPE_CHECKING:
    from workflow.engine import Engine
    from workflow.domain.events import Event



# -- output -------------------------------------------------------------------------------------------


def emit(text: str = "", *, err: bool = False) -> None:
    """Print human text, every line escaped."""
    from workflow.cli.render import safe_lines

    for line in safe_lines(text):
        click.echo(line, err=err)


def emit_lines(lines: Iterable[str]) -> None:
    for line in lines:
        emit(line)


def emit_json(value: Any) -> None:
    """Print one JSON document (one line, so a list of them is JSON Lines)."""
    from workflow.cli.render import json_text

    click.echo(json_text(value))


def report(exc: PhasegateError) -> None:
    """``Error: <message>`` on stderr; a template's problems and a refusal's blockers one per line."""
    if isinstance(exc, DefinitionError):
        count = len(exc.problems)
        emit(f"Error: {count} problem{'s' if count != 1 else ''} in the template:", err=True)
        for problem in exc.problems:
            emit(f"  {problem}", err=True)
        return
    if isinstance(exc, RuleRefused) and exc.blockers:
        head = exc.message
        joined = "; ".join(exc.blockers)
        if head.endswith(joined):  # the message repeats the blockers inline; list them instead
            head = head[: -len(joined)].rstrip().rstrip(":")
        emit(f"Error: {head}:", err=True)
        for blocker in exc.blockers:
            emit(f"  - {blocker}", err=True)
        return
    emit(f"Error: {exc.message}", err=True)


# -- the session: who acts, on which database, how the answer is printed ------------------------------


class Session:
    """Global options plus the Engine, opened on first use and closed with the command."""

    def __init__(self, db: str | None, actor: str, as_json: bool) -> None:
        self.db = db
        self.actor = actor
        self.json = as_json
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from workflow.engine import Engine

            self._engine = Engine(self.db)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def done(self, event: Event, line: Callable[[], str]) -> None:
        """Confirm a write: the event as JSON, or one human sentence."""
        if self.json:
            emit_json(event.to_dict())
        else:
            emit(line())


pass_session = click.make_pass_decorator(Session)


class PhasegateGroup(click.Group):
    """A group that turns every expected error into ``Error: …`` and its exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PhasegateError as exc:
            report(exc)
            ctx.exit(exc.exit_code)


def login_name() -> str:
    import getpass

    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no login name in this environment (containers, odd uids)
        return "unknown"


def show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("phasegate")
    except PackageNotFoundError:
        found = "unknown (running from a source tree that is not installed)"
    click.echo(f"phasegate {found}")
    ctx.exit(0)


# -- shell completion: never raises, never creates a database -------------------------------------------


def _completion_engine(ctx: click.Context) -> Engine | None:
    """An Engine on the database named on the command line, or None when there is none yet."""
    url = ctx.find_root().params.get("db") or os.environ.get("PHASEGATE_DB") or None
    from workflow.storage.database import default_url

    target = url or default_url()
    if target.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        path = make_url(target).database
        if not path or path == ":memory:" or not os.path.exists(path):
            return None
    from workflow.engine import Engine

    return Engine(url)


def _complete(fetch: Callable[[click.Context], Iterable[str]]) -> Callable[..., list[str]]:
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
        try:
            return [v for v in fetch(ctx) if v.startswith(incomplete)]
        except Exception:  # completion must never print a traceback into someone's shell
            return []

    return complete


def _with_engine(read: Callable[[Engine, click.Context], list[str]]) -> Callable[[click.Context], list[str]]:
    def fetch(ctx: click.Context) -> list[str]:
        engine = _completion_engine(ctx)
        if engine is None:
            return []
        try:
            return read(engine, ctx)
        finally:
            engine.close()

    return fetch


def _builtin_roles() -> list[str]:
    from workflow.domain.loader import builtin_paths, load_file

    roles: list[str] = []
    for path in builtin_paths().values():
        roles += [r for r in load_file(path).role_keys if r not in roles]
    return roles


def _roles(ctx: click.Context) -> list[str]:
    code = ctx.params.get("code")
    if code:
        found = _with_engine(lambda engine, _ctx: engine.project_roles(code))(ctx)
        if found:
            return found
    return _builtin_roles()


complete_codes = _complete(_with_engine(lambda engine, _ctx: engine.project_codes()))
complete_templates = _complete(_with_engine(lambda engine, _ctx: engine.template_keys()))
complete_roles = _complete(_roles)


# -- the group ----------------------------------------------------------------------------------------


class FilePath(click.Path):
    """``click.Path`` that refuses a NUL byte with a sentence (its ``os.stat`` raises ValueError)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail("a file path cannot contain a NUL byte", param, ctx)
        return super().convert(value, param, ctx)


CODE = click.argument("code", shell_complete=complete_codes)
ROLE = click.argument("role", shell_complete=complete_roles)
VERSION = click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
                       help="A published template version (default: the latest).")
REQUEST_ID = click.option(
    "--request-id", metavar="TEXT",
    help="Make the command idempotent: a retry with the same id is answered with the first outcome.",
)


@click.group(cls=PhasegateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="PHASEGATE_DB", metavar="URL",
              help="SQLAlchemy database URL [env PHASEGATE_DB; default: a SQLite file in your data "
                   "directory].")
@click.option("--as", "actor", envvar="PHASEGATE_USER", metavar="PERSON", default=login_name,
              show_default="your login name", help="Who is acting [env PHASEGATE_USER].")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output on stdout (JSON; JSON Lines for history).")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=show_version,
              help="Show the version and exit.")
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str, as_json: bool) -> None:
    """phasegate: agency project phases, gated by the people who hold the roles."""
    session = Session(db, actor, as_json)
    ctx.obj = session
    ctx.call_on_close(session.close)


@cli.command()
@click.option("--admin", "admin", required=True, metavar="PERSON", help="The first admin of this database.")
@pass_session
def init(s: Session, admin: str) -> None:
    """Create or upgrade the database, publish the built-in templates, make PERSON the first admin."""
    result = s.engine.init(admin=admin)
    if s.json:
        emit_json(result)
        return
    emit(f"database: {result['database']}")
    emit(f"admin: {result['admin']}" + (" (new)" if result["admin_created"] else " (already)"))
    emit("templates: " + ", ".join(f"{t.key} v{t.version}" for t in s.engine.templates()))


@cli.command()
@click.option("--keep", metavar="PATH", help="Keep the demo's SQLite database at PATH (a new file).")
@click.pass_context
def demo(ctx: click.Context, keep: str | None) -> None:
    """Run a whole project through the large-agency model on a throw-away database, narrated."""
    from workflow.cli.demo import run_demo

    ctx.exit(run_demo(keep, emit))


# -- templates ----------------------------------------------------------------------------------------


@cli.group()
def template() -> None:
    """Process templates: list, show, validate, publish, diagram."""


@template.command("list")
@pass_session
def template_list(s: Session) -> None:
    """The latest version of every published template."""
    infos = s.engine.templates()
    if s.json:
        emit_json([i.to_dict() for i in infos])
        return
    from workflow.cli.render import columns

    rows = [[i.key, f"v{i.version}", i.title] for i in infos]
    emit_lines(columns(rows, header=["KEY", "VERSION", "TITLE"]))


@template.command("show")
@click.argument("key", shell_complete=complete_templates)
@VERSION
@pass_session
def template_show(s: Session, key: str, version: int | None) -> None:
    """Roles, phases, tasks and gates of a published template."""
    from workflow.cli.render import definition_dict, definition_lines

    info, definition, _source = s.engine.template(key, version)
    if s.json:
        emit_json(definition_dict(info, definition))
    else:
        emit_lines(definition_lines(info, definition))


@template.command("validate")
@click.argument("file", type=FilePath(dir_okay=False))
@pass_session
def template_validate(s: Session, file: str) -> None:
    """Check a template file and print every problem (exit 2 when there is one)."""
    from workflow.domain.loader import load_file
    from workflow.cli.render import summary

    try:
        definition = load_file(file)
    except DefinitionError as exc:
        if s.json:
            emit_json({"valid": False, "problems": [
                {"source": p.source, "line": p.line, "column": p.column, "message": p.message}
                for p in exc.problems]})
        raise
    if s.json:
        gates = sum(1 for p in definition.phases if p.gate is not None)
        emit_json({"valid": True, "key": definition.key, "title": definition.title,
                   "roles": len(definition.roles), "phases": len(definition.phases), "gates": gates})
    else:
        emit(f"{summary(definition)} — valid")


@template.command("publish")
@click.argument("file", type=FilePath(dir_okay=False))
@pass_session
def template_publish(s: Session, file: str) -> None:
    """Publish FILE as a new version of its template (identical text publishes nothing)."""
    from pathlib import Path

    info, published = s.engine.publish_template(Path(file), actor=s.actor)
    if s.json:
        emit_json({**info.to_dict(), "published": published})
    elif published:
        emit(f"published {info.key} v{info.version}")
    else:
        emit(f"{info.key} v{info.version} unchanged: identical text publishes nothing")


@template.command("diagram")
@click.argument("source", metavar="KEY|FILE", shell_complete=complete_templates)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@VERSION
@pass_session
def template_diagram(s: Session, source: str, fmt: str, version: int | None) -> None:
    """The compiled state machine of a template (or of a template file) as a diagram."""
    from workflow.domain.diagram import render
    from workflow.domain.machine import compile_machine

    if os.path.isfile(source):
        from workflow.domain.loader import load_file

        definition = load_file(source)
    else:
        _info, definition, _source = s.engine.template(source, version)
    text = render(definition, compile_machine(definition), fmt)
    if s.json:
        emit_json({"template": definition.key, "format": fmt, "diagram": text})
    else:
        emit(text.rstrip("\n"))


# -- grants -------------------------------------------------------------------------------------------


@cli.command()
@click.argument("person")
@click.argument("privilege", type=click.Choice(PRIVILEGES))
@pass_session
def grant(s: Session, person: str, privilege: str) -> None:
    """Give PERSON the admin or auditor grant (admins only)."""
    event = s.engine.grant(person, privilege, actor=s.actor)
    s.done(event, lambda: f"{person} granted {privilege}")


@cli.command()
@click.argument("person")
@click.argument("privilege", type=click.Choice(PRIVILEGES))
@pass_session
def revoke(s: Session, person: str, privilege: str) -> None:
    """Take the admin or auditor grant from PERSON (admins only)."""
    event = s.engine.revoke(person, privilege, actor=s.actor)
    s.done(event, lambda: f"{person}'s {privilege} grant revoked")


# -- projects -----------------------------------------------------------------------------------------


@cli.group()
def project() -> None:
    """Projects: create, staff, list, status."""


@project.command("create")
@CODE
@click.option("--template", "template_key", required=True, metavar="KEY", shell_complete=complete_templates,
              help="The process template the project follows.")
@click.option("--name", metavar="TEXT")
@click.option("--client", metavar="TEXT")
@VERSION
@REQUEST_ID
@pass_session
def project_create(s: Session, code: str, template_key: str, name: str | None, client: str | None,
                   version: int | None, request_id: str | None) -> None:
    """Create project CODE in the first phase of a template (admins only)."""
    event = s.engine.create_project(code, template=template_key, actor=s.actor, name=name, client=client,
                                    version=version, request_id=request_id)

    def line() -> str:
        tpl = event.data["template"]
        return f"{code} created on {tpl['key']} v{tpl['version']}, in {event.data['phase_title']} (round 1)"

    s.done(event, line)


@project.command("assign")
@CODE
@ROLE
@click.argument("person")
@REQUEST_ID
@pass_session
def project_assign(s: Session, code: str, role: str, person: str, request_id: str | None) -> None:
    """Give PERSON the ROLE on project CODE (admins or the project's lead)."""
    event = s.engine.assign(code, role, person, actor=s.actor, request_id=request_id)
    s.done(event, lambda: f"{code}: {person} now holds the {event.data['role_title']} role")


@project.command("unassign")
@CODE
@ROLE
@click.argument("person")
@REQUEST_ID
@pass_session
def project_unassign(s: Session, code: str, role: str, person: str, request_id: str | None) -> None:
    """Take ROLE on project CODE from PERSON (admins or the project's lead)."""
    event = s.engine.unassign(code, role, person, actor=s.actor, request_id=request_id)
    s.done(event, lambda: f"{code}: {person} no longer holds the {event.data['role_title']} role")


@project.command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--template", "template_key", metavar="KEY", shell_complete=complete_templates)
@click.option("--phase", metavar="PHASE", help="A phase key, e.g. client_kickoff.")
@pass_session
def project_list(s: Session, status: str | None, template_key: str | None, phase: str | None) -> None:
    """The board: every project you may read, and what each is waiting on."""
    projects = s.engine.list_projects(actor=s.actor, status=status, template=template_key, phase=phase)
    if s.json:
        emit_json([p.to_dict() for p in projects])
        return
    from workflow.cli.render import board_lines

    emit_lines(board_lines(projects))


@project.command("status")
@CODE
@click.option("--at", "at", metavar="ISO-TIME",
              help="The project as it stood then, rebuilt from its history (e.g. 2026-11-28T14:30Z).")
@pass_session
def project_status(s: Session, code: str, at: str | None) -> None:
    """Phase, tasks, gate, blockers and team of project CODE (now, or --at a past moment)."""
    st = s.engine.status(code, actor=s.actor, at=at)
    if s.json:
        emit_json(st.to_dict())
        return
    from workflow.cli.render import status_lines

    _info, definition, _source = s.engine.template(st.template, st.template_version)
    if st.as_of is not None:
        emit(f"as of {st.as_of} (rebuilt from the history, event {st.seq})")
    emit_lines(status_lines(st, {r.key: r.title for r in definition.roles}))


# -- doing the work -----------------------------------------------------------------------------------


@cli.group()
def task() -> None:
    """Tasks of the current phase."""


@task.command("done")
@CODE
@ROLE
@click.option("--note", metavar="TEXT")
@REQUEST_ID
@pass_session
def task_done(s: Session, code: str, role: str, note: str | None, request_id: str | None) -> None:
    """Mark ROLE's task in the current phase of CODE done (a holder of ROLE)."""
    event = s.engine.complete_task(code, role, actor=s.actor, note=note, request_id=request_id)
    s.done(event, lambda: f"{code}: {event.data['role_title']}'s task '{event.data['task']}' "
                          f"done by {event.actor}")


@cli.command()
@CODE
@ROLE
@click.option("--comment", metavar="TEXT")
@REQUEST_ID
@pass_session
def approve(s: Session, code: str, role: str, comment: str | None, request_id: str | None) -> None:
    """Approve the current phase's gate as ROLE (a holder of ROLE)."""
    event = s.engine.approve(code, role, actor=s.actor, comment=comment, request_id=request_id)
    s.done(event, lambda: f"{code}: '{event.data['gate']}' approved by {event.actor} "
                          f"as {event.data['role_title']}")


@cli.command()
@CODE
@ROLE
@click.option("--reason", required=True, metavar="TEXT", help="Why; recorded in the history.")
@REQUEST_ID
@pass_session
def reject(s: Session, code: str, role: str, reason: str, request_id: str | None) -> None:
    """Reject the current phase's gate as ROLE: the project goes back and starts a new round."""
    event = s.engine.reject(code, role, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code} sent back to {_phase_title(s, event, event.data['to_phase'])} "
                          f"(round {event.data['to_round']}): {reason}")


@cli.command()
@CODE
@REQUEST_ID
@pass_session
def advance(s: Session, code: str, request_id: str | None) -> None:
    """Move CODE to its next phase (the lead role; tasks done and gate signed)."""
    event = s.engine.advance(code, actor=s.actor, request_id=request_id)

    def line() -> str:
        dest = event.data.get("to_phase")
        if dest is None:
            return f"{code} completed"
        return f"{code} advanced to {_phase_title(s, event, dest)} (round {event.data['to_round']})"

    s.done(event, line)


@cli.command()
@CODE
@click.option("--reason", required=True, metavar="TEXT")
@REQUEST_ID
@pass_session
def hold(s: Session, code: str, reason: str, request_id: str | None) -> None:
    """Put CODE on hold (the lead role)."""
    event = s.engine.hold(code, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code} put on hold in {event.data['phase_title']}: {reason}")


@cli.command()
@CODE
@REQUEST_ID
@pass_session
def resume(s: Session, code: str, request_id: str | None) -> None:
    """Resume a held project where it stopped (the lead role)."""
    event = s.engine.resume(code, actor=s.actor, request_id=request_id)
    s.done(event, lambda: f"{code} resumed in {event.data['phase_title']} (round {event.data['round']})")


@cli.command()
@CODE
@click.option("--reason", required=True, metavar="TEXT")
@REQUEST_ID
@pass_session
def cancel(s: Session, code: str, reason: str, request_id: str | None) -> None:
    """Cancel CODE for good (the lead role)."""
    event = s.engine.cancel(code, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code} cancelled: {reason}")


def _phase_title(s: Session, event: Event, phase: str) -> str:
    tpl = event.data["template"]
    _info, definition, _source = s.engine.template(tpl["key"], tpl["version"])
    found = definition.phase(phase)
    return found.title if found is not None else phase


# -- history and audit --------------------------------------------------------------------------------


@cli.command()
@CODE
@click.option("--since", metavar="ISO",
              help="Events at or after this time (e.g. 2026-11-28 or 2026-11-28T14:30Z).")
@click.option("--until", metavar="ISO", help="Events at or before this time.")
@click.option("--actor", "by", metavar="PERSON", help="Only this person's events.")
@click.option("--action", metavar="ACTION", help=f"Only this action ({', '.join(PROJECT_ACTIONS)}).")
@click.option("--phase", metavar="PHASE", help="Only events in this phase (a phase key).")
@click.option("--last", type=click.IntRange(min=1), metavar="N", help="Only the newest N events.")
@pass_session
def history(s: Session, code: str, since: str | None, until: str | None, by: str | None, action: str | None,
            phase: str | None, last: int | None) -> None:
    """The events of project CODE, oldest first (--json: JSON Lines)."""
    events = s.engine.history(code, actor=s.actor, since=since, until=until, by=by, action=action,
                              phase=phase, last=last)
    if s.json:
        for event in events:
            emit_json(event.to_dict())
        return
    from workflow.cli.render import history_lines

    emit_lines(history_lines(events))


# audit verify and audit checkpoint; the engine refuses more than inputs.JOBS_MAX (exit 2).
jobs_option = click.option(
    "--jobs", "jobs", type=click.IntRange(min=1), metavar="N",
    help="Processes to verify a whole SQLite database with (default: one per core, up to 4, "
         "from 250k events on; 1: one pass).",
)


@cli.group()
def audit() -> None:
    """The tamper-evident history."""


@audit.command("verify")
@click.argument("code", required=False, shell_complete=complete_codes)
@click.option("--checkpoint", "checkpoint", type=FilePath(dir_okay=False), metavar="FILE",
              help="Also require everything this checkpoint (from `audit checkpoint`) recorded to be intact.")
@jobs_option
@pass_session
def audit_verify(s: Session, code: str | None, checkpoint: str | None, jobs: int | None) -> None:
    """Recompute the hash chains (all, or CODE's) and name the first broken event (exit 6)."""
    from pathlib import Path

    anchor = None if checkpoint is None else Path(checkpoint)
    result = s.engine.verify_audit(code, actor=s.actor, checkpoint=anchor, jobs=jobs)
    if s.json:
        emit_json(result.to_dict())
    if not result.ok:
        raise AuditBroken(f"audit verification failed: {result.first_broken}")
    if not s.json:
        chains = result.chains_checked
        line = f"verified {result.events_checked} events in {chains} chain{'s' if chains != 1 else ''}"
        if result.checkpoint_chains is not None:
            signed = "signature checked" if result.checkpoint_signed else "not signed"
            line += (f"; all {result.checkpoint_chains} chains of the checkpoint of "
                     f"{result.checkpoint_created_at} intact ({signed})")
        emit(line)


@audit.command("checkpoint")
@click.option("--output", "output", type=FilePath(dir_okay=False), metavar="FILE",
              help="Write the checkpoint to FILE (a new file) instead of stdout.")
@jobs_option
@pass_session
def audit_checkpoint(s: Session, output: str | None, jobs: int | None) -> None:
    """Verify, then state every chain's length and head hash; keep the result outside the database.

    Signed with HMAC-SHA256 when PHASEGATE_CHECKPOINT_KEY is set.
    """
    cp = s.engine.checkpoint(actor=s.actor, jobs=jobs)
    if output is None:
        click.echo(cp.to_json(), nl=False)
        return
    try:
        with open(output, "x", encoding="utf-8") as f:
            f.write(cp.to_json())
    except FileExistsError:
        raise click.UsageError(f"{output} exists already; a checkpoint never overwrites one") from None
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    if s.json:
        emit_json({"output": output, "chains": len(cp.chains), "created_at": cp.created_at,
                   "digest": cp.digest, "signed": cp.signed})
    else:
        emit(f"checkpoint of {len(cp.chains)} chains written to {output} "
             f"({'signed' if cp.signed else 'unsigned: set PHASEGATE_CHECKPOINT_KEY to sign'}); "
             f"keep it outside the database")


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--output", "output", type=FilePath(dir_okay=False), metavar="FILE",
              help="Write to FILE instead of stdout.")
@click.option("--project", "project", metavar="CODE", shell_complete=complete_codes,
              help="Only this project.")
@pass_session
def audit_export(s: Session, fmt: str, output: str | None, project: str | None) -> None:
    """Every event (or one project's), streamed: JSON Lines, or CSV with one column per field."""
    if output is None:
        s.engine.export(sys.stdout, fmt, project=project, actor=s.actor)
        return
    partial = f"{output}.partial"
    try:
        with open(partial, "w", encoding="utf-8", newline="") as f:
            count = s.engine.export(f, fmt, project=project, actor=s.actor)
        os.replace(partial, output)
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    if s.json:
        emit_json({"output": output, "format": fmt, "events": count})
    else:
        emit(f"{count} events written to {output}")


# -- reports ------------------------------------------------------------------------------------------


@cli.command("report")
@click.argument("code", required=False, shell_complete=complete_codes)
@click.option("--html", "html", type=FilePath(dir_okay=False), metavar="FILE",
              help="Also write one self-contained HTML page with a timeline to FILE.")
@click.option("--template", "template_key", metavar="KEY", shell_complete=complete_templates,
              help="Summarise every project of this template instead: medians and the longest waits.")
@pass_session
def report_command(s: Session, code: str | None, html: str | None, template_key: str | None) -> None:
    """Each phase visit of CODE: start, end, time in work, time waiting on each gate role, who signed."""
    from workflow.reports.timeline import report_lines, template_report_lines

    if (code is None) == (template_key is None):
        raise click.UsageError("give a project CODE or --template KEY (one of them)")
    if template_key is not None:
        if html is not None:
            raise click.UsageError("--html is for one project's report")
        summary = s.engine.template_report(template_key, actor=s.actor)
        if s.json:
            emit_json(summary.to_dict())
        else:
            emit_lines(template_report_lines(summary))
        return
    assert code is not None
    rep = s.engine.report(code, actor=s.actor)
    if html is not None:
        from workflow.reports.html import render_html

        try:
            with open(html, "w", encoding="utf-8") as f:
                f.write(render_html(rep))
        except OSError as exc:
            raise click.UsageError(f"cannot write {html}: {exc.strerror or exc}") from None
    if s.json:
        emit_json(rep.to_dict())
    else:
        emit_lines(report_lines(rep))
        if html is not None:
            emit(f"timeline written to {html}")


def main(argv: list[str] | None = None) -> None:
    """The console script: ``phasegate`` (also ``python -m workflow.cli``)."""
    try:
        cli.main(args=argv, prog_name="phasegate")
    except BrokenPipeError:  # `phasegate history X | head`: stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


def run() -> None:
    """The console script's entry: :func:`main`, then exit without tearing the interpreter down.

    By then the command has finished: its engine is closed (connections, so SQLite and
    PostgreSQL are left clean) and output is flushed here. Skipping the interpreter's
    teardown of SQLAlchemy's object graph saves ~100 ms of every call.
    """
    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 1
    os._exit(code or 0)


if __name__ == "__main__":
    run()
