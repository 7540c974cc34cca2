"""Deliverables over the API (:class:`RemoteFiles`, a part of :class:`~workflow.client.RemoteEngine`).

Streamed both ways, 1 MiB at a time: an upload is the file's bytes as the request's body (an
iterator httpx sends as it reads, never whole in memory), a download the answer's bytes as they
come. ``audit prove`` hashes the file here and sends only its sha256.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from workflow.client.decode import many, one
from workflow.client.transport import LONG_TIMEOUT, Transport, path
from workflow.domain import inputs
from workflow.domain.audit.events import Event, event_from_dict
from workflow.domain.deliverables import CHUNK, DeliverableVersion, FilesReport, Proof, ProvenApproval
from workflow.errors import NotFound, UsageError

Unused = object
Source = str | os.PathLike[str] | BinaryIO


class Opened(NamedTuple):
    """A version to download (the Engine's ``Opened``): its record, and its bytes as they come."""

    version: DeliverableVersion
    chunks: Iterator[bytes]


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk


def _opened(source: Source) -> tuple[BinaryIO, bool]:
    """The source as a binary stream, and whether it was opened here (and is closed here)."""
    if isinstance(source, (str, os.PathLike)):
        try:
            return open(source, "rb"), True
        except OSError as exc:
            raise UsageError(f"cannot read {os.fspath(source)}: {exc.strerror or exc}") from None
    return source, False


def _proof(doc: Any) -> Proof:
    return Proof(str(doc["sha256"]), int(doc["size"]), many(DeliverableVersion)(doc["versions"]),
                 many(ProvenApproval)(doc["approvals"]))


class RemoteFiles:
    """The deliverable methods of :class:`~workflow.client.RemoteEngine`."""

    http: Transport
    _verified_files: Any = None

    def add_deliverable(self, code: str, key: str, source: Source | None = None, *, actor: Unused = None,
                        name: str | None = None, note: str | None = None, url: str | None = None,
                        label: str | None = None, request_id: str | None = None,
                        expected_seq: int | None = None) -> Event:
        from workflow.client.transport import ascii_header

        where = path("projects", inputs.project_code(code), "deliverables", key)
        headers = {}
        if request_id is not None:
            headers["Idempotency-Key"] = ascii_header(request_id, "the request id")
        if expected_seq is not None:
            headers["If-Match"] = f'"{int(expected_seq)}"'
        if (source is None) == (url is None):
            raise UsageError("give the deliverable's file, or --url (and --label) for work that lives "
                             "elsewhere; not both")
        if url is not None:
            return self.http.call("POST", where, json={"url": url, "label": label, "note": note},
                                  headers=headers, read=event_from_dict)
        if name is None and isinstance(source, (str, os.PathLike)):
            name = os.path.basename(os.fspath(source))
        handle, mine = _opened(source)  # type: ignore[arg-type]
        try:
            with self.http.stream("POST", where, params={"name": name, "note": note}, content=_chunks(handle),
                                  headers={**headers, "Content-Type": "application/octet-stream"}) as r:
                r.read()
                return event_from_dict(r.json())
        finally:
            if mine:
                handle.close()

    def deliverables(self, code: str, *, phase: str | None = None, key: str | None = None,
                     reader: Unused = None) -> list[DeliverableVersion]:
        return self.http.call("GET", path("projects", inputs.project_code(code), "deliverables"),
                              params={"phase": phase, "key": key},
                              read=lambda doc: many(DeliverableVersion)(doc["deliverables"]))

    def open_deliverable(self, code: str, key: str, version: int | None = None, *, phase: str | None = None,
                         reader: Unused = None) -> Opened:
        """The version's record (chosen as the Engine chooses it), then its bytes as they come."""
        found = self.deliverables(code, phase=phase, key=key)
        if not found:
            raise NotFound(f"{code} has no version of a deliverable {inputs.shown(key)} yet")
        latest_phase = max(found, key=lambda v: v.seq).phase
        of_phase = [v for v in found if v.phase == (phase or latest_phase)]
        chosen = of_phase[-1] if version is None else next((v for v in of_phase if v.version == version),
                                                           None)
        if chosen is None:
            have = ", ".join(str(v.version) for v in of_phase)
            raise NotFound(f"{code} has no version {version} of the {of_phase[0].title} (versions: {have})")
        if chosen.kind != "file":
            return Opened(chosen, iter(()))
        where = path("projects", inputs.project_code(code), "deliverables", key)

        def chunks() -> Iterator[bytes]:
            wanted = {"version": chosen.version, "phase": chosen.phase}
            with self.http.stream("GET", where, params=wanted) as r:
                yield from r.iter_bytes(CHUNK)

        return Opened(chosen, chunks())

    def prove(self, source: Source | None = None, *, project: str | None = None, reader: Unused = None,
              sha256: str | None = None) -> Proof:
        """The file hashed here; only its sha256 is sent."""
        size = -1
        if source is not None:
            handle, mine = _opened(source)
            try:
                digest, size = hashlib.sha256(), 0
                for chunk in _chunks(handle):
                    digest.update(chunk)
                    size += len(chunk)
                sha256 = digest.hexdigest()
            finally:
                if mine:
                    handle.close()
        proof = self.http.call("POST", path("audit", "prove"), params={"sha256": sha256, "project": project},
                               timeout=LONG_TIMEOUT, read=_proof)
        if size >= 0:
            proof = Proof(proof.sha256, size, proof.versions, proof.approvals)
        return proof

    def verify_deliverables(self, code: str | None = None, *, reader: Unused = None) -> FilesReport:
        kept, self._verified_files = getattr(self, "_verified_files", None), None
        if kept is not None:  # the answer of the verify just made
            return one(FilesReport)(kept)
        return self.http.call("GET", path("audit", "files"), params={"project": code}, timeout=LONG_TIMEOUT,
                              read=one(FilesReport))
