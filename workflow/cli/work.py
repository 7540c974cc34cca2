"""Doing a phase's work: tasks, sign-offs and the lead's moves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.params import CODE, REQUEST_ID, ROLE

if TYPE_CHECKING:
    from workflow.domain.audit.events import Event


# -- doing the work -----------------------------------------------------------------------------------


@cli.group()
def task() -> None:
    """Tasks of the current phase."""


@task.command("done")
@CODE
@ROLE
@click.option("--note", metavar="TEXT")
@REQUEST_ID
@pass_session
def task_done(s: Session, code: str, role: str, note: str | None, request_id: str | None) -> None:
    """Mark ROLE's task in the current phase of CODE done (a holder of ROLE)."""
    from workflow.domain.templates.definition import possessive

    event = s.engine.complete_task(code, role, actor=s.actor, note=note, request_id=request_id)
    s.done(event, lambda: f"{code}: {possessive(event.data['role_title'])} task '{event.data['task']}' "
                          f"done by {event.actor}")


@task.command("reopen")
@CODE
@ROLE
@click.option("--reason", required=True, metavar="TEXT", help="Why; recorded in the history.")
@REQUEST_ID
@pass_session
def task_reopen(s: Session, code: str, role: str, reason: str, request_id: str | None) -> None:
    """Mark ROLE's task of the current round not done again (a holder of ROLE, or the lead)."""
    event = s.engine.reopen_task(code, role, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code}: the task '{event.data['task']}' is open again: {reason}")


@cli.command()
@CODE
@ROLE
@click.option("--reason", metavar="TEXT", help="Why; recorded in the history.")
@REQUEST_ID
@pass_session
def withdraw(s: Session, code: str, role: str, reason: str | None, request_id: str | None) -> None:
    """Take back your approval of the current phase's gate as ROLE (before the gate is passed)."""
    event = s.engine.withdraw(code, role, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code}: {event.actor} withdrew the {event.data['role_title']} approval of "
                          f"'{event.data['gate']}'")


@cli.command()
@CODE
@ROLE
@click.option("--comment", metavar="TEXT")
@REQUEST_ID
@pass_session
def approve(s: Session, code: str, role: str, comment: str | None, request_id: str | None) -> None:
    """Approve the current phase's gate as ROLE (a holder of ROLE)."""
    event = s.engine.approve(code, role, actor=s.actor, comment=comment, request_id=request_id)
    s.done(event, lambda: f"{code}: '{event.data['gate']}' approved by {event.actor} "
                          f"as {event.data['role_title']}")


@cli.command()
@CODE
@ROLE
@click.option("--reason", required=True, metavar="TEXT", help="Why; recorded in the history.")
@REQUEST_ID
@pass_session
def reject(s: Session, code: str, role: str, reason: str, request_id: str | None) -> None:
    """Reject the current phase's gate as ROLE: the project goes back and starts a new round."""
    event = s.engine.reject(code, role, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code} sent back to {_phase_title(s, event, event.data['to_phase'])} "
                          f"(round {event.data['to_round']}): {reason}")


@cli.command()
@CODE
@REQUEST_ID
@pass_session
def advance(s: Session, code: str, request_id: str | None) -> None:
    """Move CODE to its next phase (the lead role; tasks done and gate signed)."""
    event = s.engine.advance(code, actor=s.actor, request_id=request_id)

    def line() -> str:
        dest = event.data.get("to_phase")
        if dest is None:
            return f"{code} completed"
        return f"{code} advanced to {_phase_title(s, event, dest)} (round {event.data['to_round']})"

    s.done(event, line)


@cli.command()
@CODE
@click.option("--reason", required=True, metavar="TEXT")
@REQUEST_ID
@pass_session
def hold(s: Session, code: str, reason: str, request_id: str | None) -> None:
    """Put CODE on hold (the lead role)."""
    event = s.engine.hold(code, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code} put on hold in {event.data['phase_title']}: {reason}")


@cli.command()
@CODE
@REQUEST_ID
@pass_session
def resume(s: Session, code: str, request_id: str | None) -> None:
    """Resume a held project where it stopped (the lead role)."""
    event = s.engine.resume(code, actor=s.actor, request_id=request_id)
    s.done(event, lambda: f"{code} resumed in {event.data['phase_title']} (round {event.data['round']})")


@cli.command()
@CODE
@click.option("--reason", required=True, metavar="TEXT")
@REQUEST_ID
@pass_session
def cancel(s: Session, code: str, reason: str, request_id: str | None) -> None:
    """Cancel CODE for good (the lead role)."""
    event = s.engine.cancel(code, actor=s.actor, reason=reason, request_id=request_id)
    s.done(event, lambda: f"{code} cancelled: {reason}")


def _phase_title(s: Session, event: Event, phase: str) -> str:
    tpl = event.data["template"]
    _info, definition, _source = s.engine.template(tpl["key"], tpl["version"])
    found = definition.phase(phase)
    return found.title if found is not None else phase
