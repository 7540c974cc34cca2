"""The CLI's project commands are the table's: each declared command is on the command line under its
words, taking the declared parameters, and no other command acts on a project with a request id."""

from __future__ import annotations

import click

from workflow.cli import cli
from workflow.domain.commands import COMMANDS


def resolve(words: tuple[str, ...]) -> click.Command:
    found: click.Command = cli
    with click.Context(cli) as ctx:
        for word in words:
            assert isinstance(found, click.Group), f"{' '.join(words)}: {found.name} has no subcommands"
            sub = found.get_command(ctx, word)
            assert sub is not None, f"phasegate {' '.join(words)}: no such command"
            found = sub
    return found


def test_every_declared_command_has_its_cli_words_and_takes_its_parameters() -> None:
    for cmd in COMMANDS.values():
        command = resolve(cmd.cli)
        names = {p.name for p in command.params}
        wanted = {"code", "request_id", *(p.name for p in cmd.params)}
        assert wanted <= names, f"phasegate {' '.join(cmd.cli)} lacks {sorted(wanted - names)}"
        required = {p.name for p in command.params if p.required}
        assert {p.name for p in cmd.params if p.required} <= required, cmd.name


def test_every_project_command_on_the_command_line_is_declared() -> None:
    """The click commands that run a project command (those taking --request-id on a project CODE,
    creating one aside) are exactly the table's."""
    declared = {cmd.cli for cmd in COMMANDS.values()}

    def walk(group: click.Group, prefix: tuple[str, ...], ctx: click.Context) -> set[tuple[str, ...]]:
        found = set()
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if isinstance(sub, click.Group):
                found |= walk(sub, (*prefix, name), ctx)
            elif sub is not None and {"code", "request_id"} <= {p.name for p in sub.params}:
                found.add((*prefix, name))
        return found

    with click.Context(cli) as ctx:
        # deliverable add takes a file, which the table's text parameters cannot carry: wired directly
        # (workflow/engine/deliverables/add.py), its rule declared once (rules.may_add_deliverable)
        assert walk(cli, (), ctx) - {("project", "create"), ("deliverable", "add")} == declared
