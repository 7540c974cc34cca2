"""Running `phasegate` in-process through click's CliRunner, shared by the CLI test files.

Over two transports, so one test checks both (product.md, "The CLI as a client": same
arguments, same output, same exit codes):

* ``direct``: ``phasegate --db URL --as ACTOR …``, the Engine on the database;
* ``server``: ``phasegate --server URL …`` with ACTOR's API token in $PHASEGATE_TOKEN, the
  commands going through :class:`~workflow.client.RemoteEngine` to an in-process app on
  the same database (Starlette's TestClient is the RemoteEngine's httpx client). Each
  actor gets an account and a token through the Engine the first time they act (an
  admin of the database adds the account); grants come from the test's own commands,
  as in direct mode. ``init`` sets a database up, so it runs direct, as it would where
  a server is deployed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from workflow.cli import cli
from workflow.domain.inputs import PERSON_RE

Run = Callable[..., Result]
# Through a server is marked slow: an in-process server for each test (measured 2026-12-07: median 0.5-0.7 s a
# CLI test through it, against 0.3 s on the database). The quick loop runs the CLI on the database.
TRANSPORTS = ("direct", pytest.param("server", marks=pytest.mark.slow))
IN_PROCESS = "http://testserver"
# The environment a test sees is the one it sets: none of these leak in from the shell.
CLEAN_ENV = {"PHASEGATE_SERVER": None, "PHASEGATE_TOKEN": None, "PHASEGATE_USER": None, "PHASEGATE_DB": None,
             "PHASEGATE_WEBHOOK_ALLOW": None}


def cli_runner(url: str, webhook_allow: str | None = None) -> Run:
    """`phasegate --db URL --as <actor> [--json] ARGS…`; ``actor`` defaults to ana. ``webhook_allow``:
    the PHASEGATE_WEBHOOK_ALLOW of every command (the internal networks a webhook may reach)."""
    runner = CliRunner()
    allowed = {"PHASEGATE_WEBHOOK_ALLOW": webhook_allow}

    def invoke(*args: str, actor: str = "ana", as_json: bool = False, **extra: Any) -> Result:
        head = ["--db", url, "--as", actor] + (["--json"] if as_json else [])
        env = {**CLEAN_ENV, **allowed, **extra.pop("env", {})}
        return runner.invoke(cli, [*head, *args], prog_name="phasegate", env=env, **extra)

    return invoke


@contextlib.contextmanager
def cli_session(url: str, transport: str, webhook_allow: str | None = None) -> Iterator[Run]:
    """A runner like :func:`cli_runner`'s over ``transport`` ("direct" or "server"); ``webhook_allow``:
    the PHASEGATE_WEBHOOK_ALLOW of the process that adds webhooks (the command's, or the server's)."""
    if transport == "direct":
        yield cli_runner(url, webhook_allow)
        return
    assert transport == "server", transport
    with InProcessServer(url, webhook_allow) as server:
        yield server.run


class InProcessServer:
    """The app of ``phasegate serve`` on ``url``, in this process, and the tokens of its people."""

    def __init__(self, url: str, webhook_allow: str | None = None) -> None:
        self.url, self.webhook_allow = url, webhook_allow
        self.direct = cli_runner(url)
        self.tokens: dict[str, str] = {}
        # `project assign` makes the assigned person's account first (a server's database has accounts,
        # and refuses a name without one); False: it does not, to see that refusal.
        self.accounts_for_assigned = True
        self._stack = contextlib.ExitStack()
        self._client: Any = None
        self._engine: Any = None

    def __enter__(self) -> InProcessServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def run(self, *args: str, actor: str = "ana", as_json: bool = False, **extra: Any) -> Result:
        """`phasegate --server URL [--json] ARGS…` with ``actor``'s token (``init``: direct)."""
        command = next((a for a in args if not a.startswith("-")), None)
        if command == "init":
            return self.direct(*args, actor=actor, as_json=as_json, **extra)
        if (self.accounts_for_assigned and args[:2] == ("project", "assign") and len(args) >= 5
                and PERSON_RE.fullmatch(args[4])):
            self.token(args[4])  # where a server is deployed, the people one assigns have accounts
        env = {**CLEAN_ENV, "PHASEGATE_TOKEN": self.token(actor), **extra.pop("env", {})}
        head = ["--server", IN_PROCESS] + (["--json"] if as_json else [])
        return CliRunner().invoke(cli, [*head, *args], prog_name="phasegate", env=env, obj=self.connect,
                                  **extra)

    def connect(self, _url: str, token: str) -> Any:
        """What `--server` mode uses instead of a connection of its own: the in-process app."""
        from workflow.client import RemoteEngine

        return RemoteEngine(self.client(), token=token)

    def client(self) -> Any:
        if self._client is None:
            from fastapi.testclient import TestClient

            from workflow.server.app import create_app
            from workflow.server.settings import Settings

            allow = tuple((self.webhook_allow or "").split(",")) if self.webhook_allow else ()
            app = create_app(Settings(db=self.url, access_log=False, pool_size=2, deliver=False,
                                      webhook_allow=allow))
            self._client = self._stack.enter_context(TestClient(app, base_url=IN_PROCESS))
        return self._client

    def engine(self) -> Any:
        if self._engine is None:
            from workflow import Engine

            self._engine = self._stack.enter_context(Engine(self.url))
        return self._engine

    def token(self, person: str) -> str | None:
        """``person``'s token, with an account made first if they have none (None before any admin)."""
        if person not in self.tokens:
            engine = self.engine()
            if person not in {p.login for p in engine.users()}:
                admins = engine.grants()["admin"]
                if not admins:  # before `init` nobody can add an account: the command runs without a token
                    return None
                engine.add_user(person, actor=admins[0])
            _info, self.tokens[person] = engine.create_token(actor=person, name="tests")
        return self.tokens[person]


def must_succeed(run: Run) -> Run:
    """Like ``run`` but the command must exit 0."""

    def invoke(*args: str, **kwargs: object) -> Result:
        result = run(*args, **kwargs)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result

    return invoke
