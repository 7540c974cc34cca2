"""``phasegate invite CODE ROLE --email ADDRESS [--name NAME] [--expires 14d]`` (the declared ``invite new``,
its words optional), ``invite revoke CODE ID`` (declared in :mod:`workflow.domain.commands`) and
``invite list CODE``. The link's secret is never printed: it goes to the address, by e-mail."""

from __future__ import annotations

from typing import Any

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.declared import DeclaredGroup
from workflow.cli.output import emit_json_array, emit_lines
from workflow.cli.params import CODE


class InviteGroup(DeclaredGroup):
    """``phasegate invite CODE ROLE …`` is ``phasegate invite new CODE ROLE …``: a first word that is not
    one of the group's commands (a project code) starts ``new``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.list_commands(ctx):
            args = ["new", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=InviteGroup)
def invite() -> None:
    """Outside signers (a role the template marks external: the client): invite one by e-mail
    (`phasegate invite CODE ROLE --email ADDRESS`), list and revoke the invitations."""


@invite.command("list")
@CODE
@pass_session
def invite_list(s: Session, code: str) -> None:
    """The invitations of project CODE: id, role, address, state (live, used, expired, revoked), expiry."""
    found = s.engine.invitations(code, reader=s.actor)
    if s.json:
        emit_json_array(i.to_dict() for i in found)
        return
    if not found:
        emit_lines([f"{code} has no invitations"])
        return
    from workflow.cli.render import columns

    rows: list[list[Any]] = [[i.id, i.role, i.email, i.name or "", i.state, i.created_at[:10],
                              i.expires_at[:10], "code sent" if i.code_pending else ""] for i in found]
    emit_lines(columns(rows, ["ID", "ROLE", "E-MAIL", "NAME", "STATE", "INVITED", "EXPIRES", ""]))
