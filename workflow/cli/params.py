"""Arguments and options several commands share, and shell completion (which never raises and never
creates a database)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from workflow import settings
from workflow.domain.inputs import VERSION_MAX

if TYPE_CHECKING:
    from workflow.engine import Engine


def _completion_engine(ctx: click.Context) -> Engine | None:
    """An Engine on the database named on the command line, or None when there is none yet.

    With ``--server`` (or $PHASEGATE_SERVER) there is no database here: completion offers
    only what needs none (the built-in roles) and sends nothing over the network.
    """
    root = ctx.find_root().params
    found = settings.current()
    if root.get("server") or found.server:
        return None
    url = root.get("db") or found.db
    from sqlalchemy.engine import make_url

    from workflow.storage import dialects
    from workflow.storage.database import default_url

    target = make_url(url or default_url())
    if not dialects.for_url(target).exists(target):
        return None
    from workflow.engine import Engine

    return Engine(url, create=False)  # completion only reads: it never creates tables or publishes


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
    from workflow.domain.templates.loader import builtin_paths, load_file

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


class FilePath(click.Path):
    """``click.Path`` that refuses a NUL byte with a sentence (its ``os.stat`` raises ValueError)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail("a file path cannot contain a NUL byte", param, ctx)
        return super().convert(value, param, ctx)


CODE = click.argument("code", shell_complete=complete_codes)
ROLE = click.argument("role", shell_complete=complete_roles)
VERSION = click.option(
    "--version",
    "version",
    type=click.IntRange(min=1, max=VERSION_MAX),
    metavar="N",
    help="A published template version (default: the latest).",
)
REQUEST_ID = click.option(
    "--request-id",
    metavar="TEXT",
    help="Make the command idempotent: a retry with the same id is answered with the first outcome.",
)
