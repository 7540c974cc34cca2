"""``phasegate project …``: create, staff, list, status; and ``phasegate insights`` across projects."""

from __future__ import annotations

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.declared import DeclaredGroup
from workflow.cli.output import emit, emit_check, emit_json, emit_json_array, emit_lines
from workflow.cli.params import CODE, REQUEST_ID, VERSION, FilePath, complete_templates
from workflow.domain.inputs import COUNT_MAX
from workflow.domain.vocabulary import STATUSES
from workflow.errors import UsageError

# -- projects -----------------------------------------------------------------------------------------


@cli.group(cls=DeclaredGroup)
def project() -> None:
    """Projects: create, staff, list, status."""


@project.command("create")
@CODE
@click.option("--template", "template_key", required=True, metavar="KEY", shell_complete=complete_templates,
              help="The process template the project follows.")
@click.option("--name", metavar="TEXT", help="The project's name, shown beside its code.")
@click.option("--client", metavar="TEXT", help="The client the project is for.")
@click.option("--calendar", metavar="CODE",
              help="Working days: Monday-Friday less a country's or subdivision's holidays (e.g. GB-ENG).")
@click.option("--start", "starts_on", metavar="DATE",
              help="The date the project's clock starts (default: now).")
@click.option("--team", "team_file", type=FilePath(dir_okay=False), metavar="FILE",
              help="Staff it at once: a YAML mapping of role key to a list of login names (each assigned as "
                   "`project assign` does); warns of the gates that team cannot sign.")
@VERSION
@REQUEST_ID
@pass_session
def project_create(s: Session, code: str, template_key: str, name: str | None, client: str | None,
                   calendar: str | None, starts_on: str | None, team_file: str | None, version: int | None,
                   request_id: str | None) -> None:
    """Create project CODE in the first phase of a template (admins only)."""
    team = None
    if team_file is not None:
        from workflow.domain.staffing.plan import read_team_file

        team = read_team_file(team_file, s.engine.template(template_key, version)[1])
    event = s.engine.create_project(code, template=template_key, actor=s.actor, name=name, client=client,
                                    version=version, request_id=request_id, calendar=calendar,
                                    starts_on=starts_on, team=team)

    def line() -> str:
        tpl = event.data["template"]
        return f"{code} created on {tpl['key']} v{tpl['version']}, in {event.data['phase_title']} (round 1)"

    s.done(event, line, s.staffing_warnings(event.chain) if team else None)


@project.command("check")
@CODE
@pass_session
def project_check(s: Session, code: str) -> None:
    """Can every remaining gate of CODE be signed by its team? Each gate: can pass, or why not and the
    smallest change that fixes it (exit 7 when one cannot)."""
    emit_check(s.engine.check_project(code, reader=s.actor), s.json)


@project.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only projects with this status.")
@click.option("--template", "template_key", metavar="KEY", shell_complete=complete_templates,
              help="Only projects on this template.")
@click.option("--phase", metavar="PHASE", help="A phase key, e.g. client_kickoff.")
@click.option("--limit", type=click.IntRange(min=1, max=COUNT_MAX), metavar="N", help="At most N projects.")
@click.option("--after", metavar="CODE", help="Only projects after CODE (the last one of the previous page).")
@click.option("--overdue", is_flag=True, help="Only projects whose current phase is past its due date.")
@click.option("--sort", type=click.Choice(["code", "due"]), default="code", show_default=True,
              help="due: the earliest due date first (projects without one last).")
@pass_session
def project_list(s: Session, status: str | None, template_key: str | None, phase: str | None,
                 limit: int | None, after: str | None, overdue: bool, sort: str) -> None:
    """The board: every project you may read, and what each is waiting on (streamed, in code order)."""
    projects = s.engine.iter_projects(reader=s.actor, status=status, template=template_key, phase=phase,
                                      limit=limit, after=after, overdue=overdue or None, sort=sort)
    if s.json:
        emit_json_array(p.to_dict() for p in projects)
        return
    from workflow.cli.render import board_lines

    emit_lines(board_lines(projects))


@project.command("status")
@CODE
@click.option("--at", "at", metavar="ISO-TIME",
              help="The project as it stood then, rebuilt from its history (e.g. 2026-11-28T14:30Z).")
@pass_session
def project_status(s: Session, code: str, at: str | None) -> None:
    """Phase, tasks, gate, blockers and team of project CODE (now, or --at a past moment)."""
    st = s.engine.status(code, reader=s.actor, at=at)
    if s.json:
        emit_json(st.to_dict())
        return
    from workflow.cli.render import status_lines

    _info, definition, _source = s.engine.template(st.template, st.template_version)
    if st.as_of is not None:
        emit(f"as of {st.as_of} (rebuilt from the history, event {st.seq})")
    emit_lines(status_lines(st, {r.key: r.title for r in definition.roles}))


# -- insights across projects (issue 25) --------------------------------------------------------------


@cli.command("insights")
@click.option("--template", "template_key", metavar="KEY", shell_complete=complete_templates,
              help="Only projects on this template.")
@click.option("--version", type=click.IntRange(min=1), metavar="N", help="Only this version of --template.")
@click.option("--client", metavar="TEXT", help="Only projects for this client.")
@click.option("--since", metavar="DATE", help="Only what ran on or after this day (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Only what ran on or before this day (YYYY-MM-DD).")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV table, a row per figure (a `section` column).")
@pass_session
def insights(s: Session, template_key: str | None, version: int | None, client: str | None,
             since: str | None, until: str | None, as_csv: bool) -> None:
    """Where projects spend their time, which gates send work back, who holds things up: per phase,
    gate, role and template version, over the projects you may read (admins and auditors: all)."""
    if s.json and as_csv:
        raise UsageError("--json and --csv: choose one")
    found = s.engine.insights(viewer=s.actor, template=template_key, version=version, client=client,
                              since=since, until=until)
    if s.json:
        emit_json(found.to_dict())
    elif as_csv:
        emit(found.to_csv().rstrip("\n"))
    else:
        from workflow.cli.render import columns
        from workflow.reports.insights_text import insights_lines

        emit_lines(insights_lines(found, columns))
