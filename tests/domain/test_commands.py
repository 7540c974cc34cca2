"""The command table: every declared project command has a rule, a body, an Engine method and a
client method, all from the one declaration."""

from __future__ import annotations

import inspect

from workflow.client import RemoteEngine
from workflow.domain import rules
from workflow.domain.commands import COMMANDS, ProjectCommands
from workflow.engine import Engine
from workflow.engine.commands import BODIES


def test_every_command_has_its_rule_its_body_and_both_engines_methods() -> None:
    assert set(BODIES) == set(COMMANDS)
    for name, cmd in COMMANDS.items():
        assert cmd.check() is getattr(rules, cmd.rule)
        assert getattr(Engine, name) is getattr(ProjectCommands, name), f"Engine.{name} is not the declared one"
        assert getattr(RemoteEngine, name) is getattr(ProjectCommands, name), name
        assert cmd.path.startswith("/projects/{code}"), "a project command acts on one project"


def test_a_body_takes_its_declarations_parameters_as_checked() -> None:
    """Each body takes the locked project, the transaction, then the declared parameters (or what its
    own input check gives it, keyed as the request id's fingerprint keeps them)."""
    for name, body in BODIES.items():
        declared = [p.name for p in COMMANDS[name].params]
        takes = list(inspect.signature(body.run).parameters)
        assert takes[:2] == ["ctx", "tx"], name
        if body.inputs is None:
            assert takes[2:] == declared, name
        else:
            assert list(inspect.signature(body.inputs).parameters) == declared, name


def test_the_web_actions_and_the_actions_are_distinct() -> None:
    webs = [cmd.web.action for cmd in COMMANDS.values() if cmd.web is not None]
    assert len(webs) == len(set(webs))
    assert len({cmd.action for cmd in COMMANDS.values()}) == len(COMMANDS)
    assert len({(cmd.method, cmd.path) for cmd in COMMANDS.values()}) == len(COMMANDS)


def test_every_button_has_a_place_on_the_page() -> None:
    """The project page draws the buttons place by place (domain/commands.py's PLACES)."""
    from pathlib import Path

    import workflow.server.web as web
    from workflow.domain.commands import PLACES

    page = (Path(web.__file__).parent / "templates" / "project.html").read_text(encoding="utf-8")
    for cmd in COMMANDS.values():
        if cmd.web is not None:
            assert cmd.web.place in PLACES, cmd.name
            assert f'("{cmd.web.place}")' in page, f"project.html draws nothing at {cmd.web.place}"
