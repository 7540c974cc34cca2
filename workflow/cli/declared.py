"""The command groups that hold the project commands declared in :mod:`workflow.domain.commands`."""

from __future__ import annotations

import click


class DeclaredGroup(click.Group):
    """A group that also holds the project commands declared under its words
    (:mod:`workflow.domain.commands`), built by :mod:`workflow.cli.work` when the group is first asked
    for its commands: importing the CLI imports no table (it stays as light as it is)."""

    words: tuple[str, ...] | None = None  # its words on the command line (None: its name; () for phasegate)
    _declared: dict[str, click.Command] | None = None

    def declared(self) -> dict[str, click.Command]:
        if self._declared is None:
            from workflow.cli.work import declared

            self._declared = declared(self.words if self.words is not None else (str(self.name),))
        return self._declared

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.declared()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self.declared().get(cmd_name)
