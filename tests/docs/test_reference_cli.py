"""The command-line reference: every command, argument and option of the click app is in the generated
page, and every command and option says in words what it does (click ``help=``), so a new option
added without a word fails here. The app is walked here on its own, not through the generator."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
from support.docs_reference import generated

from workflow.cli import cli


def every_command(group: click.Group = cli) -> Iterator[tuple[str, click.Command]]:
    """(command path, command) of every visible command, the project commands built from the
    command table included (a group lists them through ``list_commands``)."""

    def walk(command: click.Command, path: str, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} lists {name} but has no such command"
                if not sub.hidden:
                    yield from walk(sub, f"{path} {name}", click.Context(sub, info_name=name, parent=ctx))

    yield from walk(group, "phasegate", click.Context(group, info_name="phasegate"))


def options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and not p.hidden]


def wordless(group: click.Group = cli) -> list[str]:
    """Every command and option that does not say what it does."""
    found = []
    for path, command in every_command(group):
        if not (command.help or "").strip():
            found.append(path)
        found += [f"{path} {o.opts[0]}" for o in options(command) if not (o.help or "").strip()]
    return found


def sections(page: str) -> dict[str, str]:
    """The generated page by command: its heading's command path -> the text under it."""
    parts = re.split(r"^#{2,4} `([^`]+)`$", page, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_command_and_option_says_what_it_does() -> None:
    assert wordless() == [], "give each a help= text: short, specific, in the style of its neighbours"


def test_an_option_or_command_added_without_a_word_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    bare = click.Option(["--brand-new"])
    monkeypatch.setattr(cli.commands["tick"], "params", [*cli.commands["tick"].params, bare])
    monkeypatch.setitem(cli.commands, "mute", click.Command("mute", callback=lambda: None))
    assert wordless() == ["phasegate mute", "phasegate tick --brand-new"]


def test_the_reference_has_every_command_with_its_usage_arguments_and_options() -> None:
    by_command = sections(generated("cli"))
    commands = dict(every_command())
    assert set(by_command) == set(commands)
    assert len(commands) > 50 and "phasegate approve" in commands and "phasegate task done" in commands
    for path, command in commands.items():
        text = by_command[path]
        assert f"Usage: {path} " in text, path
        for param in command.params:
            if isinstance(param, click.Argument):
                assert f"`{param.human_readable_name}`" in text, (path, param.name)
        for option in options(command):
            assert all(f"`{name}`" in text for name in option.opts), (path, option.opts)
            assert " ".join((option.help or "").split())[:40] in text, (path, option.opts)
