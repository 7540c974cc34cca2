"""``phasegate user …`` and ``phasegate token …``: accounts and personal API tokens."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.output import emit_listing, emit_made_with_secret
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
