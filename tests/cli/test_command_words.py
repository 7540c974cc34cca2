"""The CLI's project commands are the table's: each declared command has its words on the command line,
taking the declared parameters, and each command of ``phasegate``'s work module is declared."""

from __future__ import annotations

import click

from workflow.cli import cli
from workflow.domain.commands import COMMANDS


def resolve(words: tuple[str, ...]) -> click.Command:
    found: click.Command = cli
    for word in words:
        assert isinstance(found, click.Group), f"{' '.join(words)}: {found.name} has no subcommands"
        found = found.commands[word]
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

    def walk(group: click.Group, prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
        found = set()
        for name, sub in group.commands.items():
            if isinstance(sub, click.Group):
                found |= walk(sub, (*prefix, name))
            elif {"code", "request_id"} <= {p.name for p in sub.params}:
                found.add((*prefix, name))
        return found

    assert walk(cli, ()) - {("project", "create")} == declared
