"""The ``phasegate`` command line: a thin layer over :class:`workflow.engine.Engine`.

Each command parses its arguments, calls one Engine method and prints the result;
no rule lives here. Three things are done in exactly one place each:

* the Engine is built lazily, once, by :class:`Session` (so ``--help``,
  ``template validate`` and ``demo`` never import SQLAlchemy: importing this
  module costs click and :mod:`workflow.errors` only). With ``--server URL`` it is a
  :class:`~workflow.client.RemoteEngine` instead, with the same methods over the HTTP
  API, so no command knows which one it talks to (only httpx is imported then);
* every :class:`~workflow.errors.PhasegateError` becomes ``Error: …`` on stderr
  and its ``exit_code`` (:meth:`PhasegateGroup.invoke`), never a traceback;
* everything printed passes through :func:`workflow.cli.render.safe` /
  :func:`workflow.cli.render.json_text` (:func:`emit`), so nothing a user typed can
  put a terminal escape sequence on someone else's screen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from workflow import settings
from workflow.cli.declared import DeclaredGroup
from workflow.cli.output import emit, emit_json, report_error
from workflow.errors import PhasegateError, Unauthenticated, UsageError

if TYPE_CHECKING:
    from workflow.client import RemoteEngine
    from workflow.domain.audit.events import Event
    from workflow.engine import Engine
    from workflow.engine.protocol import EngineAPI

    def _both_engines(engine: Engine, remote: RemoteEngine) -> tuple[EngineAPI, EngineAPI]:
        """mypy holds the Engine and its HTTP client to one API (never called)."""
        return engine, remote


# -- the session: who acts, on which database, how the answer is printed ------------------------------


TOKEN_ENV = settings.TOKEN
Connect = Callable[[str, str], "EngineAPI"]  # (server URL, token) -> an object with the Engine's methods


def connect(url: str, token: str) -> EngineAPI:
    """The Engine of ``--server`` mode: the HTTP API's client, one keep-alive connection."""
    from workflow.client import RemoteEngine

    return RemoteEngine(url=url, token=token)


class Session:
    """Global options plus the Engine, opened on first use and closed with the command.

    ``server``: run through ``phasegate serve`` at that URL, as the person whose token is in
    $PHASEGATE_TOKEN. ``connect`` makes that mode's engine (tests hand in one on an
    in-process app through ``cli.main(obj=...)``).
    """

    def __init__(self, db: str | None, actor: str, as_json: bool, *, server: str | None = None,
                 connect: Connect = connect) -> None:
        self.db = db
        self.actor = actor
        self.json = as_json
        self.server = server
        self._connect = connect
        self._engine: EngineAPI | None = None

    @property
    def engine(self) -> EngineAPI:
        """The Engine on ``--db``, or with ``--server`` its HTTP client: the same API (EngineAPI)."""
        if self._engine is None:
            if self.server is not None:
                self._engine = self._connect(self.server, self._token())
            else:
                from workflow.engine import Engine

                self._engine = Engine(self.db)
        return self._engine

    @property
    def database(self) -> Engine:
        """The Engine itself, for what only a database can do (refused with ``--server``)."""
        from workflow.engine import Engine

        engine = self.engine
        if not isinstance(engine, Engine):
            raise UsageError("this command works on a database (--db), not through --server")
        return engine

    def _token(self) -> str:
        token = settings.current().token
        if not token:
            raise Unauthenticated(f"--server needs your API token in {TOKEN_ENV} (`phasegate token create` "
                                  "makes one; an admin can give you an account)")
        return token

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def done(self, event: Event, line: Callable[[], str], warnings: list[str] | None = None) -> None:
        """Confirm a write: the event as JSON, or one human sentence. ``warnings`` (a staffing change's:
        the gates the team can no longer sign) go in the JSON's ``warnings``, or to stderr."""
        if self.json:
            emit_json(event.to_dict() if warnings is None else {**event.to_dict(), "warnings": warnings})
        else:
            emit(line())
            for warning in warnings or ():
                emit(f"Warning: {warning}", err=True)

    def staffing_warnings(self, code: str) -> list[str]:
        """After a staffing change: each remaining gate of ``code`` its team cannot sign, and the fix."""
        return self.engine.check_project(code, reader=self.actor).warnings


pass_session = click.make_pass_decorator(Session)


class PhasegateGroup(DeclaredGroup):
    """A group that turns every expected error into ``Error: …`` and its exit code, in one place."""

    words = ()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PhasegateError as exc:
            session = ctx.find_object(Session)
            report_error(exc, as_json=session is not None and session.json)
            ctx.exit(exc.exit_code)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """click's own usage errors (a missing argument, a bad choice) as JSON too under ``--json``."""
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            if _wants_json(argv):
                from workflow.cli.render import json_text

                click.echo(json_text({"error": UsageError(exc.format_message()).to_dict()}), err=True)
            else:
                exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _wants_json(argv: list[str]) -> bool:
    """``--json`` anywhere among the options (before a ``--``)."""
    return "--json" in (argv[: argv.index("--")] if "--" in argv else argv)


def accept_json_after_the_command(group: click.Group) -> None:
    """Every command also takes ``--json`` after its name (``project status X --json``); the declared
    project commands are built with it (:func:`workflow.cli.work.command_of`)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_json_after_the_command(command)
        elif not any(p.name == "as_json" for p in command.params):
            command.params.append(json_option())


def json_option() -> click.Option:
    def turn_on(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        session = ctx.find_object(Session)
        if value and session is not None:
            session.json = True

    return click.Option(["--json", "as_json"], is_flag=True, expose_value=False, callback=turn_on,
                        help="Machine-readable output (as the global --json).")


def login_name() -> str:
    import getpass

    try:
        return (getpass.getuser() or "unknown").lower()  # login names are lowercase
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


# -- the group ----------------------------------------------------------------------------------------


@click.group(cls=PhasegateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar=settings.DB,
    metavar="URL",
    help="SQLAlchemy database URL [env PHASEGATE_DB; default: a SQLite file in your data directory].",
)
@click.option(
    "--as",
    "actor",
    envvar=settings.USER,
    metavar="PERSON",
    default=login_name,
    show_default="your login name",
    help="Who is acting [env PHASEGATE_USER].",
)
@click.option(
    "--server",
    envvar=settings.SERVER,
    metavar="URL",
    help="Run the command through `phasegate serve` at URL instead of a database [env PHASEGATE_SERVER], "
         "as the person whose API token is in the environment variable PHASEGATE_TOKEN (never an option: "
         "a command line shows in `ps`). Not with --db or --as.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Machine-readable output on stdout (JSON; JSON Lines for history).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=show_version,
    help="Show the version and exit.",
)
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str, as_json: bool, server: str | None) -> None:
    """phasegate: agency project phases, gated by the people who hold the roles."""
    how = ctx.obj if callable(ctx.obj) else connect
    session = Session(db, actor, as_json, server=server or None, connect=how)
    ctx.obj = session
    ctx.call_on_close(session.close)
    if session.server is not None:
        refuse_with_server(ctx)


def refuse_with_server(ctx: click.Context) -> None:
    """``--server``: who acts is the token's, and the data is the server's (not --as, not --db)."""

    def given(name: str, option: str, env: str) -> str | None:
        """Where the option's value came from, when someone gave one."""
        return {ParameterSource.COMMANDLINE: option, ParameterSource.ENVIRONMENT: env}.get(
            ctx.get_parameter_source(name))  # type: ignore[arg-type]

    if where := given("actor", "--as", settings.USER):
        raise UsageError(f"{where} is not used with --server: the server knows you by your token "
                         f"({TOKEN_ENV}), and nobody can act as someone else there")
    if where := given("db", "--db", settings.DB):
        raise UsageError(f"{where} and --server are two ways to reach the data: give one of them")


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
    teardown of SQLAlchemy's object graph saves a large part of every call (benchmarks/results.md,
    "Start-up").
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
