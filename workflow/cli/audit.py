"""History, the audit trail and reports."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.output import FORCE, emit, emit_json, emit_lines, output_file
from workflow.cli.params import CODE, FilePath, complete_codes, complete_templates
from workflow.domain.inputs import COUNT_MAX, JOBS_MAX
from workflow.domain.vocabulary import HISTORY_ACTIONS
from workflow.errors import AuditBroken, NotPermitted, PhasegateError

if TYPE_CHECKING:
    from workflow.domain.deliverables import FilesReport

# -- history and audit --------------------------------------------------------------------------------


@cli.command()
@CODE
@click.option("--since", metavar="ISO",
              help="Events at or after this time (e.g. 2026-11-28 or 2026-11-28T14:30Z).")
@click.option("--until", metavar="ISO", help="Events at or before this time.")
@click.option("--actor", "by", metavar="PERSON", help="Only this person's events.")
@click.option("--action", type=click.Choice(HISTORY_ACTIONS), help="Only this action.")
@click.option("--phase", metavar="PHASE", help="Only events in this phase (a phase key).")
@click.option("--last", type=click.IntRange(min=1, max=COUNT_MAX), metavar="N",
              help="Only the newest N events.")
@click.option("--limit", type=click.IntRange(min=1, max=COUNT_MAX), metavar="N", help="At most N events.")
@click.option("--after", type=click.IntRange(min=0, max=COUNT_MAX), metavar="SEQ",
              help="Only events after event SEQ (the last one of the previous page).")
@pass_session
def history(s: Session, code: str, since: str | None, until: str | None, by: str | None, action: str | None,
            phase: str | None, last: int | None, limit: int | None, after: int | None) -> None:
    """The events of project CODE, oldest first, streamed (--json: JSON Lines)."""
    events = s.engine.iter_history(code, reader=s.actor, since=since, until=until, actor=by, action=action,
                                   phase=phase, last=last, limit=limit, after=after)
    if s.json:
        for event in events:
            emit_json(event.to_dict())
        return
    from workflow.cli.render import history_lines

    emit_lines(history_lines(events, *_titles(s, code)))


def _titles(s: Session, code: str) -> tuple[dict[str, str], dict[str, str]]:
    """The project's phase and role titles by key, for the history's words (none if it cannot be read:
    the history then says why)."""
    try:
        st = s.engine.status(code, reader=s.actor)
        _info, definition, _src = s.engine.template(st.template, st.template_version)
    except PhasegateError:
        return {}, {}
    return {p.key: p.title for p in definition.phases}, {r.key: r.title for r in definition.roles}


# audit verify and audit checkpoint; the engine refuses more than inputs.JOBS_MAX (exit 2).
jobs_option = click.option(
    "--jobs", "jobs", type=click.IntRange(min=1, max=JOBS_MAX), metavar="N",
    help="Processes to verify a whole SQLite database with (default: one per core, up to 4, "
         "from 250k events on; 1: one pass).",
)


@cli.group()
def audit() -> None:
    """The tamper-evident history."""


@audit.command("verify")
@click.argument("code", required=False, shell_complete=complete_codes)
@click.option("--checkpoint", "checkpoint", type=FilePath(dir_okay=False), metavar="FILE",
              help="Also require everything this checkpoint (from `audit checkpoint`) recorded to be intact.")
@jobs_option
@click.option("--no-replay", "no_replay", is_flag=True,
              help="Check the hash chains only, not the state tables against the replay of the chains.")
@pass_session
def audit_verify(s: Session, code: str | None, checkpoint: str | None, jobs: int | None,
                 no_replay: bool) -> None:
    """Recompute the hash chains (all, or CODE's), replay them against the state tables, and name the
    first broken event or difference (exit 6)."""
    from pathlib import Path

    anchor = None if checkpoint is None else Path(checkpoint)
    result = s.engine.verify_audit(code, reader=s.actor, checkpoint=anchor, jobs=jobs, replay=not no_replay)
    files = _verify_files(s, code) if result.ok else None
    if s.json:
        emit_json({**result.to_dict(), **({"files": files.to_dict()} if files is not None else {})})
    if not result.ok:
        raise AuditBroken(f"audit verification failed: {result.first_broken}")
    if files is not None and not files.ok:
        raise AuditBroken("audit verification failed: the stored deliverables do not match their record: "
                          + "; ".join(str(b) for b in files.broken[:10])
                          + (f" (and {len(files.broken) - 10} more)" if len(files.broken) > 10 else ""))
    if not s.json:
        from workflow.domain.wording import all_chains, count, signature_words

        line = f"verified {count(result.events_checked, 'event')} in {count(result.chains_checked, 'chain')}"
        line += ("; the state tables match their replay" if result.state_checked
                 else "; the state tables were not checked (--no-replay)")
        if result.checkpoint_chains is not None:
            signed = signature_words(result.checkpoint_signature)
            line += (f"; {all_chains(result.checkpoint_chains)} of the checkpoint of "
                     f"{result.checkpoint_created_at} intact ({signed})")
        if files is not None and files.files_checked:
            line += f"; {count(files.files_checked, 'stored file')} hash to their recorded sha256"
        emit(line)


def _verify_files(s: Session, code: str | None) -> FilesReport | None:
    """The deliverables' bytes hashed again (on the database, or by the server)."""
    return s.engine.verify_deliverables(code, reader=s.actor)


@audit.command("checkpoint")
@click.option("--output", "output", type=FilePath(dir_okay=False), metavar="FILE",
              help="Write the checkpoint to FILE instead of stdout.")
@FORCE
@jobs_option
@pass_session
def audit_checkpoint(s: Session, output: str | None, force: bool, jobs: int | None) -> None:
    """Verify, then state every chain's length and head hash; keep the result outside the database.

    Signed with HMAC-SHA256 when PHASEGATE_CHECKPOINT_KEY is set.
    """
    cp = s.engine.checkpoint(reader=s.actor, jobs=jobs)
    if output is None:
        click.echo(cp.to_json(), nl=False)
        return
    with output_file(output, force=force) as f:
        f.write(cp.to_json())
    if s.json:
        emit_json({"output": output, "chains": len(cp.chains), "created_at": cp.created_at,
                   "digest": cp.digest, "signed": cp.signed, "signature": cp.signature_state})
    else:
        from workflow.domain.wording import count

        emit(f"checkpoint of {count(len(cp.chains), 'chain')} written to {output} "
             f"({'signed' if cp.signed else 'unsigned: set PHASEGATE_CHECKPOINT_KEY to sign'}); "
             f"keep it outside the database")


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
              help="jsonl: one event as JSON per line; csv: a row per event, its main fields in columns and "
                   "its whole data as JSON.")
@click.option("--output", "output", type=FilePath(dir_okay=False), metavar="FILE",
              help="Write to FILE instead of stdout.")
@click.option("--project", "project", metavar="CODE", shell_complete=complete_codes,
              help="Only this project.")
@click.option("--raw", is_flag=True, help="CSV cells exactly as recorded (no formula neutralising).")
@FORCE
@pass_session
def audit_export(
    s: Session, fmt: str, output: str | None, project: str | None, raw: bool, force: bool
) -> None:
    """Every event (or one project's), streamed: JSON Lines, or CSV with one column per field.

    A CSV cell a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a
    leading ' unless --raw is given; JSON Lines are always exact.
    """
    if output is None:
        from workflow.cli.render import TerminalSafeWriter

        s.engine.export(TerminalSafeWriter(sys.stdout), fmt, project=project, reader=s.actor, raw=raw)
        return
    with output_file(output, force=force) as f:
        count = s.engine.export(f, fmt, project=project, reader=s.actor, raw=raw)
    if s.json:
        emit_json({"output": output, "format": fmt, "events": count})
    else:
        emit(f"{count} events written to {output}")


# -- reports ------------------------------------------------------------------------------------------


@cli.command("report")
@click.argument("code", required=False, shell_complete=complete_codes)
@click.option("--html", "html", type=FilePath(dir_okay=False), metavar="FILE",
              help="Also write one self-contained HTML page with a timeline to FILE.")
@click.option("--template", "template_key", metavar="KEY", shell_complete=complete_templates,
              help="Summarise every project of this template instead: medians and the longest waits.")
@FORCE
@pass_session
def report_command(s: Session, code: str | None, html: str | None, template_key: str | None,
                   force: bool) -> None:
    """Each phase visit of CODE: start, end, time in work, time waiting on each gate role, who signed."""
    from workflow.reports.text import report_lines, template_report_lines

    if (code is None) == (template_key is None):
        raise click.UsageError("give a project CODE or --template KEY (one of them)")
    if template_key is not None:
        if html is not None:
            raise click.UsageError("--html is for one project's report")
        summary = s.engine.template_report(template_key, reader=s.actor)
        if s.json:
            emit_json(summary.to_dict())
        else:
            emit_lines(template_report_lines(summary))
        return
    assert code is not None
    rep = s.engine.report(code, reader=s.actor)
    if html is not None:
        from workflow.reports.html import render_html

        try:  # the page says whether the chain verifies, when the reader may verify it
            verified: bool | None = s.engine.verify_audit(code, reader=s.actor).ok
        except NotPermitted:
            verified = None
        with output_file(html, force=force) as f:
            f.write(render_html(rep, verified=verified))
    if s.json:
        emit_json(rep.to_dict())
    else:
        emit_lines(report_lines(rep))
        if html is not None:
            emit(f"timeline written to {html}")
