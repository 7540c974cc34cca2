"""Writing an output file (--output, --html): one way for every command.

The file is written under a temporary name created exclusively in the target's own
folder (``O_EXCL | O_NOFOLLOW``: a name planted there beforehand, or a symlink, is
never followed or overwritten) and renamed into place only when the command has
finished; on failure it is removed and nothing else is touched. The temporary file is
created on the first write, so a command refused before it writes anything (no
permission, no such project) creates no file at all. An existing target is replaced
only with ``--force``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click


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
