"""The project commands on the command line, each built from its declaration
(:mod:`workflow.domain.commands`: its words, its arguments and options, who may run it), the way
Alembic builds its CLI from ``alembic/command.py``'s functions; only the sentence that confirms one is
written here, per command. They are built when a group is first asked for its commands
(:class:`~workflow.cli.declared.DeclaredGroup`), so importing the CLI stays as light as it was."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from workflow.cli.app import Session, cli, json_option, pass_session
from workflow.cli.declared import DeclaredGroup
from workflow.cli.params import CODE, REQUEST_ID, ROLE

if TYPE_CHECKING:
    from workflow.domain.audit.events import Event
    from workflow.domain.commands import Command

Said = Callable[[Session, "Event", dict[str, Any]], str]  # the confirmation: (session, event, arguments)


@cli.group(cls=DeclaredGroup)
def task() -> None:
    """Tasks of the current phase."""


def _advanced(s: Session, event: Event, a: dict[str, Any]) -> str:
    dest = event.data.get("to_phase")
    if dest is None:
        return f"{a['code']} completed"
    return f"{a['code']} advanced to {_phase_title(s, event, dest)} (round {event.data['to_round']})"


def _due(s: Session, event: Event, a: dict[str, Any]) -> str:
    d = event.data
    was = f" (was {d['previous']})" if d.get("previous") else ""
    return f"{a['code']}: {d['for_phase_title']} due {d['due_on']}{was}"


def _done(s: Session, event: Event, a: dict[str, Any]) -> str:
    from workflow.domain.templates.definition import possessive

    return (f"{a['code']}: {possessive(event.data['role_title'])} task '{event.data['task']}' "
            f"done by {event.actor}")


# command -> the sentence that confirms it (the human wording; everything else is the declaration's)
SAID: dict[str, Said] = {
    "assign": lambda s, e, a: f"{a['code']}: {a['person']} now holds the {e.data['role_title']} role",
    "unassign": lambda s, e, a: f"{a['code']}: {a['person']} no longer holds the {e.data['role_title']} role",
    "complete_task": _done,
    "reopen_task": lambda s, e, a: f"{a['code']}: the task '{e.data['task']}' is open again: {a['reason']}",
    "approve": lambda s, e, a: (f"{a['code']}: '{e.data['gate']}' approved by {e.actor} "
                                f"as {e.data['role_title']}"),
    "withdraw": lambda s, e, a: (f"{a['code']}: {e.actor} withdrew the {e.data['role_title']} approval of "
                                 f"'{e.data['gate']}'"),
    "reject": lambda s, e, a: (f"{a['code']} sent back to {_phase_title(s, e, e.data['to_phase'])} "
                               f"(round {e.data['to_round']}): {a['reason']}"),
    "advance": _advanced,
    "hold": lambda s, e, a: f"{a['code']} put on hold in {e.data['phase_title']}: {a['reason']}",
    "resume": lambda s, e, a: f"{a['code']} resumed in {e.data['phase_title']} (round {e.data['round']})",
    "cancel": lambda s, e, a: f"{a['code']} cancelled: {a['reason']}",
    "set_due": _due,
    "invite": lambda s, e, a: (f"{a['code']}: {e.data['email']} invited as {e.data['role_title']} "
                               f"(invitation {e.data['invitation']}, until {e.data['expires_at'][:10]}); the "
                               f"link goes to that address by e-mail"),
    "revoke_invite": lambda s, e, a: (f"{a['code']}: invitation {a['invitation']} revoked ({e.data['email']}"
                                      + (f" left the {e.data['role_title']} role" if e.data["left"] else "")
                                      + ")"),
}
STAFFING = ("assign", "unassign")  # their answer warns of the gates the team can no longer sign
METAVARS = {"day": "DATE"}  # an argument shown under another name than its parameter's
HELP = {
    "reason": "Why; recorded in the history.",
    "note": "A note recorded with the task (shown in the history).",
    "comment": "A comment recorded with the approval (shown in the history).",
    "email": "The outside signer's e-mail address (one plain address): the link and its codes go there.",
    "name": "The outside signer's name, shown with the invitation.",
    "expires": "How long the link lasts, in days: 14d by default, at most 90d.",
    "deliverables": "The deliverables you approve, as KEY=SHA256 pairs (space- or comma-separated): "
                    "refused (exit 5) if a newer version came in since.",
    "on_behalf_of": "A delegate: the person you act for, where several delegated this role to you.",
}


def command_of(cmd: Command) -> click.Command:
    """``cmd`` as a click command: CODE, its positional parameters as arguments, the others as
    ``--options`` (required where the declaration requires them), --request-id; one Engine call."""
    said = SAID[cmd.name]

    def run(s: Session, code: str, request_id: str | None, **given: Any) -> None:
        positional = [given[p.name] for p in cmd.params if p.positional]
        keywords = {p.name: given[p.name] for p in cmd.params if not p.positional}
        run_command = getattr(s.engine, cmd.name)
        event = run_command(code, *positional, actor=s.actor, request_id=request_id, **keywords)
        warnings = s.staffing_warnings(code) if cmd.name in STAFFING else None
        s.done(event, lambda: said(s, event, {"code": code, **given}), warnings)

    decorators = [CODE]
    for p in cmd.params:
        if p.name == "role":
            decorators.append(ROLE)
        elif p.positional:
            decorators.append(click.argument(p.name, metavar=METAVARS.get(p.name, p.name.upper())))
        else:
            decorators.append(click.option(f"--{p.name.replace('_', '-')}", required=p.required,
                                           metavar="PERSON" if p.name == "on_behalf_of" else "TEXT",
                                           help=HELP.get(p.name)))
    decorators.append(REQUEST_ID)
    callback: Callable[..., None] = pass_session(run)
    for decorate in reversed(decorators):
        callback = decorate(callback)
    built = click.command(cmd.cli[-1], help=f"{cmd.doc.rstrip('.')} ({cmd.who}).")(callback)
    built.params.append(json_option())
    return built


def declared(words: tuple[str, ...]) -> dict[str, click.Command]:
    """The project commands under the group named by ``words`` (() for ``phasegate`` itself)."""
    from workflow.domain.commands import COMMANDS

    return {cmd.cli[-1]: command_of(cmd) for cmd in COMMANDS.values() if cmd.cli[:-1] == words}


def _phase_title(s: Session, event: Event, phase: str) -> str:
    tpl = event.data["template"]
    _info, definition, _source = s.engine.template(tpl["key"], tpl["version"])
    found = definition.phase(phase)
    return found.title if found is not None else phase
