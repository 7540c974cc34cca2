"""The bytes of deliverables, content-addressed by sha256: in the database by default, or in a directory.

In the database (``blobs`` and ``blob_chunks``, 1 MiB a row): written in the transaction of the
version row and its event, so a file is there whole with its row or not at all. The chunks are
sent as they are read from the spool (never held for the COMMIT, as PostgreSQL's other writes
are), so memory stays at one chunk whatever the size.

In a directory (``PHASEGATE_FILES``): ``<dir>/<sha256[:2]>/<sha256>``, put in place before the
transaction commits — the spool's nameless file linked under its final name (atomic; or, where
the OS cannot link it, copied to ``.<sha256>.part``, fsynced and renamed), then the directory
fsynced. A transaction that fails or is killed after that leaves a file with no row: harmless
(it holds exactly the bytes its name says, nothing points at it, nothing serves it, ``audit
verify`` does not look at it, and the next upload of the same bytes reuses it). A ``.part``
file left by a killed copy is ignored the same way; neither is ever read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow.domain.deliverables import CHUNK
from workflow.errors import DatabaseProblem
from workflow.storage.statements import Statement
from workflow.storage.tables import blob_chunks

if TYPE_CHECKING:
    from workflow.storage.files.spool import Spooled
    from workflow.storage.store import Store
    from workflow.storage.transaction import ReadTx, WriteTx

DB, DIR = "db", "dir"
FIND = Statement("blob", "SELECT place, size FROM blobs WHERE sha256 = :sha256")
INSERT = Statement("insert_blob", "INSERT INTO blobs (sha256, size, chunks, place, stored_at) "
                                  "VALUES (:sha256, :size, :chunks, :place, :stored_at)")
INSERT_CHUNK = Statement("insert_blob_chunk",
                         "INSERT INTO blob_chunks (sha256, n, data) VALUES (:sha256, :n, :data)")


def path_of(folder: str, sha256: str) -> str:
    return os.path.join(folder, sha256[:2], sha256)


def put(tx: WriteTx, spooled: Spooled, now: str, folder: str | None) -> None:
    """The spooled bytes stored under their sha256 in this transaction (nothing if stored already)."""
    found = tx.execute(FIND, sha256=spooled.sha256).fetchone()
    if found is not None:
        if found[0] == DIR and folder is not None and not os.path.exists(path_of(folder, spooled.sha256)):
            _place(spooled, folder)  # its file was lost: the same bytes put it back
        return
    if folder is None:
        # written now, not held for the COMMIT: one chunk in memory at a time
        count = -(-spooled.size // CHUNK)
        tx.execute(INSERT, sha256=spooled.sha256, size=spooled.size, chunks=count, place=DB, stored_at=now)
        for n, chunk in enumerate(spooled.chunks()):
            tx.execute(INSERT_CHUNK, sha256=spooled.sha256, n=n, data=chunk)
        return
    _place(spooled, folder)
    tx.execute(INSERT, sha256=spooled.sha256, size=spooled.size, chunks=0, place=DIR, stored_at=now)


def _place(spooled: Spooled, folder: str) -> None:
    """The spool's bytes under their sha256 in ``folder``: whole, or not there at all."""
    final = path_of(folder, spooled.sha256)
    shelf = os.path.dirname(final)
    os.makedirs(shelf, exist_ok=True)
    spooled.file.flush()
    os.fsync(spooled.file.fileno())
    try:
        os.link(f"/proc/self/fd/{spooled.file.fileno()}", final)
    except FileExistsError:
        return
    except OSError:  # no O_TMPFILE or no /proc here, or another file system: copy, then rename
        part = os.path.join(shelf, f".{spooled.sha256}.part")
        with open(part, "wb") as out:
            for chunk in spooled.chunks():
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, final)
    fd = os.open(shelf, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def chunks(store: Store, sha256: str, folder: str | None) -> Iterator[bytes]:
    """A stored file's bytes, 1 MiB at a time; each chunk read in a short read of its own (a
    download never holds a connection between chunks)."""
    from workflow.storage.transaction import run_read

    def where(tx: ReadTx) -> tuple[Any, ...] | None:
        row = tx.execute(FIND, sha256=sha256).fetchone()
        return None if row is None else tuple(row)

    found = run_read(store, where)
    if found is None:
        raise DatabaseProblem(f"the bytes of sha256 {sha256[:12]}… are missing from the store")
    if found[0] == DIR:
        yield from _file_chunks(folder, sha256)
        return
    n = 0
    while True:
        def chunk(tx: ReadTx, n: int = n) -> bytes | None:
            row = tx.core(select(blob_chunks.c.data).where(blob_chunks.c.sha256 == sha256,
                                                           blob_chunks.c.n == n)).first()
            return None if row is None else bytes(row[0])

        data = run_read(store, chunk)
        if data is None:
            return
        yield data
        n += 1


def _file_chunks(folder: str | None, sha256: str) -> Iterator[bytes]:
    if folder is None:
        raise DatabaseProblem("this file is stored in the files directory, and PHASEGATE_FILES is not set "
                              "here")
    try:
        handle = open(path_of(folder, sha256), "rb")  # noqa: SIM115
    except OSError as exc:
        raise DatabaseProblem(f"the file of sha256 {sha256[:12]}… cannot be read from {folder}: "
                              f"{exc.strerror or exc}") from None
    with handle:
        while data := handle.read(CHUNK):
            yield data


def rehash(store: Store, sha256: str, folder: str | None) -> str | None:
    """The sha256 of the bytes stored under ``sha256`` as they are now (None: missing)."""
    digest = hashlib.sha256()
    seen = False
    try:
        for data in chunks(store, sha256, folder):
            digest.update(data)
            seen = True
    except DatabaseProblem:
        return None
    return digest.hexdigest() if seen else None
