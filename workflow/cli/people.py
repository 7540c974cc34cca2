"""``phasegate user …``, ``phasegate token …`` and ``phasegate delegate …``: accounts, personal API
tokens, and delegations."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.output import emit, emit_json, emit_listing, emit_made_with_secret
from workflow.domain import inputs

if TYPE_CHECKING:
    from workflow.client import RemoteEngine


@cli.group()
def user() -> None:
    """Accounts: who may sign in to the server (admins; a person may set their own password)."""


@user.command("add")
@click.argument("person")
@click.option("--name", metavar="TEXT", help="The display name.")
@click.option("--email", metavar="ADDRESS",
              help="Where their notification e-mails go (`user notify` chooses which).")
@pass_session
def user_add(s: Session, person: str, name: str | None, email: str | None) -> None:
    """Give PERSON an account (no password yet: set one with `user password`)."""
    event = s.engine.add_user(person, actor=s.actor, name=name, email=email)
    s.done(
        event, lambda: f"{person} has an account now; set a password with `phasegate user password {person}`"
    )


@user.command("list")
@pass_session
def user_list(s: Session) -> None:
    """Every account, enabled or not."""
    emit_listing(s.json, s.engine.users(reader=s.actor),
                 ["LOGIN", "NAME", "E-MAIL", "STATE", "PASSWORD"],
                 lambda p: [p.login, p.display_name or "", p.email or "",
                            "active" if p.active else "disabled",
                            "password" if p.has_password else "no password"])


def _account_switch(word: str, help_text: str) -> None:
    """``user disable`` and ``user enable``: one command but for which way the account is switched."""

    @user.command(word, help=help_text)
    @click.argument("person")
    @pass_session
    def switch(s: Session, person: str) -> None:
        change = s.engine.enable_user if word == "enable" else s.engine.disable_user
        event = change(person, actor=s.actor)
        s.done(event, lambda: f"{person}'s account is {word}d")


_account_switch("disable",
                "Disable PERSON's account: their sessions end and their tokens stop working at once.")
_account_switch("enable", "Enable PERSON's account again.")


@user.command("password")
@click.argument("person")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (your own through a server: your "
                   "current password from the first line, empty if you have none, the new one from the "
                   "second).")
@pass_session
def user_password(s: Session, person: str, password_stdin: bool) -> None:
    """Set PERSON's password (asked twice, not echoed; admins, or the person themself).

    Through a server (--server), changing your own password asks for your current one first:
    a token is not the password. On the database (--db) nothing more is asked, since whoever
    can write the database can set any password there.
    """
    current = None
    if s.server is not None and inputs.person(person) == cast("RemoteEngine", s.engine).whoami():
        if password_stdin:
            current = sys.stdin.readline().rstrip("\r\n") or None
        else:
            current = click.prompt("Current password (empty if you have none)", hide_input=True, default="",
                                   show_default=False) or None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"New password for {person}", hide_input=True, confirmation_prompt=True)
    event = s.engine.set_password(person, password, actor=s.actor, current=current)
    s.done(event, lambda: f"{person}'s password is set; their other sessions have ended")


@cli.group()
def token() -> None:
    """Your personal API tokens (for `phasegate --server` and scripts)."""


@token.command("create")
@click.option("--name", metavar="TEXT", help="What the token is for (shown in `token list`).")
@click.option("--expires-in", metavar="DURATION", help="e.g. 90d, 12h, 2w (default: never).")
@pass_session
def token_create(s: Session, name: str | None, expires_in: str | None) -> None:
    """Create a token for yourself; it is printed this once and kept only as a hash."""
    info, secret = s.engine.create_token(actor=s.actor, name=name, expires_in=expires_in)
    emit_made_with_secret(
        s.json, info, "token", secret,
        f"token {info.id} for {info.person}" + (f", expires {info.expires_at}" if info.expires_at else ""),
        "Keep it now: it is not shown again. Use it as PHASEGATE_TOKEN or Authorization: Bearer.")


@token.command("list")
@pass_session
def token_list(s: Session) -> None:
    """Your tokens: id, name, created, expires, last used, revoked (never the secret)."""
    from workflow.cli.render import when

    emit_listing(s.json, s.engine.tokens(reader=s.actor),
                 ["ID", "NAME", "CREATED", "EXPIRES", "LAST USED", "STATE"],
                 lambda t: [t.id, t.name or "", when(t.created_at), when(t.expires_at) or "never",
                            when(t.last_used_at) or "never",
                            "revoked " + when(t.revoked_at) if t.revoked_at else "active"])


@token.command("revoke")
@click.argument("token_id", metavar="ID")
@pass_session
def token_revoke(s: Session, token_id: str) -> None:
    """Revoke one of your tokens (admins: anyone's); it stops working at once."""
    event = s.engine.revoke_token(token_id, actor=s.actor)
    s.done(event, lambda: f"token {token_id} revoked")


# -- delegations (issue 26): someone away hands their roles to another for a while ---------------------


@cli.command()
@click.argument("person", metavar="PERSON|list|end")
@click.argument("ident", metavar="[ID]", required=False)
@click.option("--to", "to", metavar="PERSON", help="Who acts on PERSON's behalf (the delegate).")
@click.option("--from", "starts_on", metavar="DATE", help="The first day it is in force (YYYY-MM-DD, UTC).")
@click.option("--until", metavar="DATE", help="The last day in force (YYYY-MM-DD, UTC; at most 90 days).")
@click.option("--roles", metavar="R,...", help="Only these roles (default: every role PERSON holds).")
@click.option("--project", metavar="CODE", help="Only this project (default: every project).")
@click.option("--reason", metavar="TEXT", help="Why (recorded with it).")
@click.option("--person", "whose", metavar="PERSON",
              help="`delegate list`: PERSON's delegations (admins, auditors; `*`: everybody's).")
@click.option("--current", is_flag=True, help="`delegate list`: only those not over yet.")
@pass_session
def delegate(s: Session, person: str, ident: str | None, to: str | None, starts_on: str | None,
             until: str | None, roles: str | None, project: str | None, reason: str | None,
             whose: str | None, current: bool) -> None:
    """Let another act for PERSON while they are away: `delegate PERSON --to OTHER --from DATE --until
    DATE` (PERSON, or an admin). OTHER then does PERSON's tasks and signs PERSON's gates, each event
    naming both. `delegate list` shows yours (given and received); `delegate end ID` ends one early."""
    if person == "list":
        found = s.engine.delegations(reader=s.actor, person=whose, current=current)
        emit_listing(s.json, found, ["ID", "PERSON", "TO", "FROM", "UNTIL", "ROLES", "PROJECT", "STATE"],
                     lambda d: [d.id, d.person, d.to, d.starts_on, d.until, ",".join(d.roles) or "all",
                                d.project or "all", f"ended {d.ended_at[:10]}" if d.ended_at else "made"],
                     empty="no delegations")
        return
    if person == "end":
        if ident is None:
            raise click.UsageError("give the delegation's id: `phasegate delegate end ID`")
        event = s.engine.end_delegation(ident, actor=s.actor)
        s.done(event, lambda: f"delegation {ident} ended")
        return
    if ident is not None:
        raise click.UsageError(f"unexpected {ident!r}: `delegate PERSON --to OTHER --from DATE --until DATE`")
    missing = [name for name, value in (("--to", to), ("--from", starts_on), ("--until", until)) if not value]
    if missing:
        raise click.UsageError(f"delegate needs {', '.join(missing)}")
    assert to is not None and starts_on is not None and until is not None
    made = s.engine.delegate(person, to, starts_on, until, actor=s.actor, roles=roles, project=project,
                             reason=reason)
    if s.json:
        emit_json(made.to_dict())
        return
    what = ", ".join(made.roles) or "every role"
    where = made.project or "every project"
    emit(f"delegation {made.id}: {made.to} acts for {made.person} ({what}, {where}) from {made.starts_on} "
         f"to {made.until}")
