"""Setting up: the first admin, the demo, grants."""

from __future__ import annotations

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.output import emit, emit_json, emit_lines
from workflow.domain.vocabulary import PRIVILEGES


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
    from workflow.demo import run_demo

    ctx.exit(run_demo(keep, emit))


# -- grants -------------------------------------------------------------------------------------------


@cli.command()
@click.argument("person", metavar="PERSON|list")
@click.argument("privilege", type=click.Choice(PRIVILEGES), required=False)
@pass_session
def grant(s: Session, person: str, privilege: str | None) -> None:
    """Give PERSON the admin or auditor grant (admins only); `grant list`: who holds which."""
    if privilege is None:
        if person != "list":
            raise click.UsageError("give the grant (admin or auditor), or run `phasegate grant list`")
        held = s.engine.grants(reader=s.actor)
        if s.json:
            emit_json(held)
        else:
            emit_lines(f"{p}: {', '.join(people) or 'nobody'}" for p, people in held.items())
        return
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
