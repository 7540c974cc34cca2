"""Deliverables on the command line: ``deliverable add | list | get`` and ``audit prove``.

On a database (``--db``) or through ``--server`` (the same arguments, output and exit codes): files
are streamed both ways, 1 MiB at a time; over ``--server``, ``audit prove`` hashes the file here and
sends only its sha256.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, BinaryIO

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.audit import audit
from workflow.cli.output import FORCE, emit, emit_json, emit_lines
from workflow.cli.params import CODE, REQUEST_ID, FilePath, complete_codes
from workflow.domain.inputs import COUNT_MAX
from workflow.errors import NotFound, UsageError


@cli.group()
def deliverable() -> None:
    """Versions of a phase's documents (the SOW, the estimate, QA material), signed by its gate."""


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1024:
        return f"{n:,} bytes"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"


@deliverable.command("add")
@CODE
@click.argument("key")
@click.argument("file", required=False, type=FilePath(dir_okay=False, allow_dash=True))
@click.option("--note", metavar="TEXT", help="What changed in this version; recorded in the history.")
@click.option("--name", metavar="NAME", help="The file's name as shown (default: FILE's; needed for -).")
@click.option("--url", metavar="URL", help="Work that lives elsewhere, recorded as a link instead of a FILE.")
@click.option("--label", metavar="TEXT", help="The link's words (with --url).")
@REQUEST_ID
@pass_session
def deliverable_add(s: Session, code: str, key: str, file: str | None, note: str | None, name: str | None,
                    url: str | None, label: str | None, request_id: str | None) -> None:
    """Add the next version of deliverable KEY of CODE's current phase: FILE's bytes (- reads stdin),
    or --url for work that lives elsewhere (a holder of a role that may add it)."""
    if (file is None) == (url is None):
        raise UsageError("give FILE, or --url URL (with --label) for work that lives elsewhere")
    if label is not None and url is None:
        raise UsageError("--label goes with --url")
    engine = s.engine
    source: str | BinaryIO | None = file
    if file == "-":
        if not name:
            raise UsageError("reading stdin (-), give the file's name with --name")
        source = sys.stdin.buffer
    event = engine.add_deliverable(code, key, source, actor=s.actor, name=name, note=note, url=url,
                                   label=label, request_id=request_id)
    s.done(event, lambda: _added(code, event.data))


def _added(code: str, d: dict[str, Any]) -> str:
    if d.get("kind") == "link":
        line = (f"{code}: {d['title']} v{d['version']} added as a link to {d.get('url')} "
                "(its content not seen by phasegate)")
    else:
        size = d.get("size")
        line = (f"{code}: {d['title']} v{d['version']} added ({d.get('name')}, "
                f"{_size(size if isinstance(size, int) else None)}, {d.get('media_type')}, "
                f"sha256 {d.get('sha256')})")
    voids = d.get("voided")
    voided = voids.get("approvals") or [] if isinstance(voids, dict) else []
    if voided:
        line += "; voids the approval" + ("s" if len(voided) > 1 else "") + " of " + ", ".join(
            f"{v['person']} as {v['role']}" for v in voided) + " (notified)"
    if d.get("carried_over"):
        line += "; the approvals carry over (only what the template allows changed)"
    return line


@deliverable.command("list")
@CODE
@click.option("--phase", metavar="PHASE", help="Only this phase's deliverables (a phase key).")
@click.option("--key", metavar="KEY", help="Only this deliverable's versions.")
@pass_session
def deliverable_list(s: Session, code: str, phase: str | None, key: str | None) -> None:
    """Every version of CODE's deliverables: who added it, when, its size and sha256 (team, admins,
    auditors)."""
    found = s.engine.deliverables(code, phase=phase, key=key, reader=s.actor)
    if s.json:
        emit_json({"project": code, "deliverables": [v.to_dict() for v in found]})
        return
    if not found:
        emit(f"{code} has no deliverables yet")
        return
    lines = []
    for v in found:
        what = (f"link {v.label or v.url}" if v.kind == "link"
                else f"{v.name} {_size(v.size)} {v.media_type} sha256 {(v.sha256 or '')[:12]}")
        lines.append(f"{v.phase}  {v.key} v{v.version}  {what}  by {v.by} at {v.at}"
                     + (f"  — {v.note}" if v.note else ""))
    emit_lines(lines)


@deliverable.command("get")
@CODE
@click.argument("key")
@click.option("--version", "version", type=click.IntRange(min=1, max=COUNT_MAX), metavar="N",
              help="This version (default: the newest).")
@click.option("--phase", metavar="PHASE", help="The phase whose deliverable it is (default: the latest).")
@click.option("--output", "output", required=True, type=FilePath(dir_okay=False, allow_dash=True),
              metavar="FILE", help="Write the bytes to FILE (- for stdout).")
@FORCE
@pass_session
def deliverable_get(s: Session, code: str, key: str, version: int | None, phase: str | None, output: str,
                    force: bool) -> None:
    """Write a version of deliverable KEY of CODE to FILE, streamed (team, admins, auditors)."""
    opened = s.engine.open_deliverable(code, key, version, phase=phase, reader=s.actor)
    v = opened.version
    if v.kind == "link":
        raise NotFound(f"the {v.title} v{v.version} of {code} is a link, not a file: {v.url}")
    if output == "-":
        for chunk in opened.chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    written = _write_binary(output, opened.chunks, force=force)
    if s.json:
        emit_json({"output": output, **v.to_dict()})
    else:
        emit(f"{v.title} v{v.version} of {code} written to {output} ({_size(written)}, sha256 {v.sha256})")


def _write_binary(path: str, chunks: Iterable[bytes], *, force: bool) -> int:
    """The chunks into ``path``: a temporary file beside it (exclusive, not following links),
    renamed into place when whole; an existing file only replaced with --force."""
    import secrets

    target = os.path.abspath(path)
    if os.path.isdir(target):
        raise click.UsageError(f"{path} is a folder; give a file name")
    if not force and os.path.lexists(target):
        raise click.UsageError(f"{path} exists already; use --force to replace it")
    temporary = os.path.join(os.path.dirname(target),
                             f".{os.path.basename(target)}.{secrets.token_hex(6)}.partial")
    written = 0
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
        if force:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)
            os.unlink(temporary)
    except OSError as exc:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise click.UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    return written


@audit.command("prove")
@click.argument("file", type=FilePath(dir_okay=False, allow_dash=True))
@click.option("--project", "project", metavar="CODE", shell_complete=complete_codes,
              help="Only this project.")
@pass_session
def audit_prove(s: Session, file: str, project: str | None) -> None:
    """Which approvals signed exactly FILE's bytes: its sha256, then every approval whose hashed event
    bound it (project, gate, round, role, who, when, event hash; still current, or voided, withdrawn,
    rejected). None: says so, exit 3."""
    source: str | BinaryIO = sys.stdin.buffer if file == "-" else file
    proof = s.engine.prove(source, project=project, reader=s.actor)
    if s.json and proof.covered:
        emit_json({**proof.to_dict(), "covered": True})
        return
    if not proof.covered:
        stored = "; ".join(f"it is {v.project} {v.key} v{v.version}" for v in proof.versions)
        raise NotFound(f"no approval covers the bytes of {file} (sha256 {proof.sha256})"
                       + (f": {stored}, which nobody approved" if stored else
                          ": phasegate holds no deliverable with these bytes"))
    lines = [f"sha256 {proof.sha256} ({_size(proof.size)}) was approved:"]
    for a in proof.approvals:
        state = {"current": "current", "passed": "the gate was passed with it"}.get(
            a.state, f"{a.state} by event {a.ended_by}")
        how = "" if not a.auth else f", auth {a.auth}" + (f" with the code e-mailed to {a.email}"
                                                           if a.email else "")
        lines.append(f"  {a.project} '{a.gate}' round {a.round}: {a.person} as {a.role} at {a.at}{how} "
                     f"({a.key} v{a.version}; event {a.seq}, hash {a.hash}) — {state}")
    emit_lines(lines)
