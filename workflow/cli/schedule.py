"""``phasegate tick`` and ``calendar``: the clock's turn, a calendar feed (``project due`` is a project
command: workflow/cli/work.py)."""

from __future__ import annotations

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.output import FORCE, emit, emit_json, output_file
from workflow.cli.params import FilePath


@cli.command("tick")
@click.option("--now", "now", metavar="ISO-TIME",
              help="Try a schedule out: say what a tick at this moment would give, and write nothing.")
@pass_session
def tick(s: Session, now: str | None) -> None:
    """Give every project what its clock owes now: overdue notices, reminders, escalations.

    Safe to run from cron every minute, on any number of hosts at once: each notice is
    given once per project, phase, round and person. With --now, a try-out: nothing is
    recorded or sent (--json lists what would be, under "would").
    """
    report = s.engine.tick(now=now)
    if s.json:
        emit_json(report.to_dict())
        return
    counts = report.counts()
    due = f"{report.projects} project{'s' if report.projects != 1 else ''} due"
    given = f"{counts['remind']} reminded, {counts['escalate']} escalated, {counts['overdue']} overdue"
    if report.dry_run:
        emit(f"tick --now: a try-out at {report.at}: nothing was written. {due}; would give: {given}")
        for n in report.would:
            emit(f"  {n.project} {n.kind}: {', '.join(n.people)}")
        return
    emit(f"tick at {report.at}: {due}; {given}")
    for e in report.events:
        emit(f"  {e.chain} #{e.seq} {e.action}: {', '.join(e.data.get('people', []))}")


@cli.command("calendar")
@click.option("--person", metavar="PERSON", help="Whose due dates (default: the acting person).")
@click.option("--output", "output", type=FilePath(dir_okay=False), metavar="FILE",
              help="Write the iCalendar file to FILE instead of stdout.")
@FORCE
@pass_session
def calendar(s: Session, person: str | None, output: str | None, force: bool) -> None:
    """The due dates of the phases where PERSON has a task or a signature to give, as iCalendar."""
    text = s.engine.calendar(person or s.actor, reader=s.actor)
    if output is None:
        click.echo(text, nl=False)
        return
    with output_file(output, force=force) as f:
        f.write(text)
    emit(f"calendar written to {output}")
