"""What the command line prints, and the files it writes: one way for every command.

Printing (:func:`emit` and the others): every line passes through
:func:`workflow.cli.render.safe` or :func:`~workflow.cli.render.json_text`, so nothing a
user typed can put a terminal escape sequence on someone else's screen; a list, a secret
shown once and a refusal are printed in one shape by every command.

Writing an output file (--output, --html): the file is written under a temporary name
created exclusively in the target's own folder (``O_EXCL | O_NOFOLLOW``: a name planted
there beforehand, or a symlink, is never followed or overwritten) and renamed into place
only when the command has finished; on failure it is removed and nothing else is touched.
The temporary file is created on the first write, so a command refused before it writes
anything (no permission, no such project) creates no file at all. An existing target is
replaced only with ``--force``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from workflow.errors import DefinitionError, PhasegateError, RuleRefused

if TYPE_CHECKING:
    from workflow.domain.staffing.gates import StaffingCheck


class LazyFile:
    """A text stream that creates its temporary file on the first write."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.temporary: Path | None = None
        self._stream: IO[str] | None = None

    def write(self, text: str) -> int:
        if self._stream is None:
            self._stream = self._open()
        return self._stream.write(text)

    def _open(self) -> IO[str]:
        import secrets  # ~3 ms of imports, for the commands that write a file only

        folder = self.target.parent
        for _ in range(10):
            name = folder / f".{self.target.name}.{secrets.token_hex(6)}.partial"
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            except FileExistsError:
                continue
            self.temporary = name
            return os.fdopen(fd, "w", encoding="utf-8", newline="")
        raise OSError(f"could not create a temporary file in {folder}")

    def close(self) -> None:
        if self._stream is None:  # nothing was written: an empty file, written now
            self._stream = self._open()
        self._stream.close()


@contextlib.contextmanager
def output_file(path: str, *, force: bool) -> Iterator[LazyFile]:
    """``with output_file(path, force=...) as f``: ``f`` is in place at ``path`` once the block ends."""
    target = Path(path)
    if target.is_dir():
        raise click.UsageError(f"{path} is a folder; give a file name")
    if not force and (target.exists() or target.is_symlink()):
        raise click.UsageError(f"{path} exists already; use --force to replace it")
    out = LazyFile(target)
    try:
        yield out
        out.close()
        assert out.temporary is not None
        _put_in_place(out.temporary, target, force=force)
    except OSError as exc:
        _discard(out)
        raise click.UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _discard(out)
        raise


def _put_in_place(temporary: Path, target: Path, *, force: bool) -> None:
    if force:
        os.replace(temporary, target)
        return
    try:  # no clobbering even if the target appeared meanwhile: link fails when it exists
        os.link(temporary, target)
    except FileExistsError:
        raise click.UsageError(f"{target} exists already; use --force to replace it") from None
    except OSError:  # a filesystem without hard links
        if target.exists():
            raise click.UsageError(f"{target} exists already; use --force to replace it") from None
        os.replace(temporary, target)
        return
    temporary.unlink()


def _discard(out: LazyFile) -> None:
    with contextlib.suppress(Exception):
        if out._stream is not None:
            out._stream.close()
    if out.temporary is not None:
        with contextlib.suppress(FileNotFoundError):
            out.temporary.unlink()


FORCE = click.option("--force", is_flag=True, help="Replace FILE if it exists.")


# -- printing ------------------------------------------------------------------------------------------


def emit(text: str = "", *, err: bool = False) -> None:
    """Print human text, every line escaped."""
    from workflow.cli.render import safe_lines

    for line in safe_lines(text):
        click.echo(line, err=err)


def emit_lines(lines: Iterable[str]) -> None:
    for line in lines:
        emit(line)


def emit_listing(as_json: bool, items: Sequence[Any], header: list[str], row: Callable[[Any], list[str]],
                 empty: str | None = None) -> None:
    """What a list command prints: the items' ``to_dict()`` under ``--json``, else a row each in
    columns under ``header`` (``empty``: the sentence instead when there is none)."""
    if as_json:
        emit_json([item.to_dict() for item in items])
        return
    from workflow.cli.render import columns

    rows = [row(item) for item in items]
    emit_lines(columns(rows, header=header) if rows or empty is None else [empty])


def emit_made_with_secret(as_json: bool, made: Any, field: str, secret: str | None, summary: str,
                          keep: str) -> None:
    """What made a secret it shows this once (a token, a webhook's signing secret): under ``--json``
    ``made``'s ``to_dict()`` with the secret as ``field``, else ``summary``, the secret and ``keep``."""
    if as_json:
        emit_json({**made.to_dict(), **({field: secret} if secret else {})})
        return
    emit(summary)
    if secret:
        emit(secret)
        emit(keep)


def emit_json_array(values: Iterable[Any]) -> None:
    """One JSON array, written element by element as they come (a stream of any length)."""
    from workflow.cli.render import json_text

    click.echo("[", nl=False)
    for i, value in enumerate(values):
        click.echo(("," if i else "") + json_text(value), nl=False)
    click.echo("]")


def emit_json(value: Any) -> None:
    """Print one JSON document (one line, so a list of them is JSON Lines)."""
    from workflow.cli.render import json_text

    click.echo(json_text(value))


def report_error(exc: PhasegateError, *, as_json: bool = False) -> None:
    """``Error: <message>`` on stderr; a template's problems and a refusal's blockers one per line.

    Under ``--json``, one JSON document on stderr instead: ``{"error": {"kind", "message", ...}}``
    (the body the HTTP API answers with).
    """
    if as_json:
        from workflow.cli.render import json_text

        click.echo(json_text({"error": exc.to_dict()}), err=True)
        return
    if isinstance(exc, DefinitionError):
        count = len(exc.problems)
        emit(f"Error: {count} problem{'s' if count != 1 else ''} in the template:", err=True)
        for problem in exc.problems:
            emit(f"  {problem}", err=True)
        return
    if isinstance(exc, RuleRefused) and exc.blockers:
        head = exc.message
        joined = "; ".join(exc.blockers)
        if head.endswith(joined):  # the message repeats the blockers inline; list them instead
            head = head[: -len(joined)].rstrip().rstrip(":")
        emit(f"Error: {head}:", err=True)
        for blocker in exc.blockers:
            emit(f"  - {blocker}", err=True)
        return
    emit(f"Error: {exc.message}", err=True)


def emit_check(report: StaffingCheck, as_json: bool) -> None:
    """``project check`` / ``template check --team``: each gate's line (or the report as JSON) on stdout,
    then, where a gate cannot be signed, :class:`~workflow.errors.Unsignable` (exit 7)."""
    from workflow.errors import Unsignable

    if as_json:
        emit_json(report.to_dict())
    else:
        for gate in report.gates:
            emit(("ok: " if gate.can_pass else "cannot pass: ") + gate.sentence)
        if not report.gates:
            emit(f"{report.subject}: no gate left to sign")
    problems = len(report.problems)
    if problems:
        raise Unsignable(f"{problems} of the {len(report.gates)} remaining gates of {report.subject} "
                         f"cannot be signed by the team as staffed")
