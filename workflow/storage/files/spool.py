"""A deliverable's bytes, streamed in before the transaction that keeps them.

The source (a path, or any binary stream: a request body, a pipe) is read 1 MiB at a time
into an anonymous temporary file, hashed (sha256) and counted as it passes, its first bytes
kept to sniff the media type. Past the size limit it is refused at once, and an empty file
too. The temporary file has no name (``O_TMPFILE`` where the OS has it): a process killed
mid-stream leaves nothing behind. It lives in the files directory when there is one, so the
blob store can link it into place without copying (:mod:`workflow.storage.files.blobs`).

The transaction then copies it (or links it) into the store, and can be retried: the spool is
re-read from its start on every attempt.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO, BinaryIO

from workflow.domain.deliverables import CHUNK, sniff
from workflow.errors import TooLarge, UsageError

HEAD = 8192  # bytes kept to sniff the media type from
Source = str | os.PathLike[str] | BinaryIO


class Spooled:
    """One upload's bytes, spooled: ``sha256``, ``size``, ``media_type``; :meth:`chunks` re-reads them."""

    def __init__(self, file: IO[bytes], sha256: str, size: int, head: bytes) -> None:
        self.file = file
        self.sha256 = sha256
        self.size = size
        self.media_type = sniff(head)

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(CHUNK):
            yield chunk

    def close(self) -> None:
        """Closing the nameless file frees its bytes (``with contextlib.closing(spool(...))``)."""
        self.file.close()


def spool(source: Source, *, limit: int, folder: str | None = None, what: str = "the file") -> Spooled:
    """Stream ``source`` into a nameless temporary file (in ``folder``, else the system's temp
    directory): refused with a sentence when empty or past ``limit`` bytes, nothing kept."""
    if isinstance(source, (str, os.PathLike)):
        try:
            handle: BinaryIO = open(source, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise UsageError(f"cannot read {os.fspath(source)}: {exc.strerror or exc}") from None
        try:
            if os.fstat(handle.fileno()).st_size > limit:  # a regular file's size: refused before reading
                raise _too_large(what, limit)
            return _spool(handle, limit, folder, what)
        finally:
            handle.close()
    return _spool(source, limit, folder, what)


def _spool(source: BinaryIO, limit: int, folder: str | None, what: str) -> Spooled:
    out = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (handed to Spooled, which closes it)
    try:
        digest = hashlib.sha256()
        size = 0
        head = b""
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise _too_large(what, limit)
            if len(head) < HEAD:
                head += chunk[: HEAD - len(head)]
            digest.update(chunk)
            out.write(chunk)
        if size == 0:
            raise UsageError(f"{what} is empty; nothing was stored")
        out.flush()
        return Spooled(out, digest.hexdigest(), size, head)
    except BaseException:
        out.close()
        raise


def _too_large(what: str, limit: int) -> TooLarge:
    return TooLarge(f"{what} is larger than {_mib(limit)}, the most a deliverable may be; nothing was stored "
                    f"(an operator can raise PHASEGATE_MAX_FILE_MIB)")


def _mib(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{size:,} bytes"


def sha256_of(source: Source) -> tuple[str, int]:
    """A file's sha256 and size, streamed (``audit prove``): nothing kept."""
    handle: BinaryIO
    if isinstance(source, (str, os.PathLike)):
        try:
            handle = open(source, "rb")  # noqa: SIM115
        except OSError as exc:
            raise UsageError(f"cannot read {os.fspath(source)}: {exc.strerror or exc}") from None
    else:
        handle = source
    try:
        digest, size = hashlib.sha256(), 0
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size
    finally:
        if handle is not source:
            handle.close()
