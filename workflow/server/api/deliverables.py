"""``/projects/{code}/deliverables``: a phase's documents uploaded and downloaded, streamed both ways;
``/audit/prove``: which approvals signed a file's bytes; ``/audit/files``: every stored file hashed again.

An upload's body is the file itself (``Content-Type`` is not believed: the stored media type is
sniffed from the bytes), its name and note in the query. It is never whole in memory: the body
middleware (:mod:`workflow.server.bodies`) bounds it by the file limit while it streams, and a
worker thread hands it to the Engine's spool 1 MiB at a time (:class:`BodyReader`), each read
waiting on the event loop for the next chunk of the request. A JSON body
(``Content-Type: application/json``) is a link instead, ``{url, label, note}``: to upload a JSON
file, send it as ``application/octet-stream`` (the CLI always does).

A download is sent as an attachment (``Content-Disposition``, ``X-Content-Type-Options: nosniff``,
and a sandboxing CSP of its own), its media type only one a browser shows without running it
(:data:`SHOWN`), else ``application/octet-stream``: an uploaded HTML or SVG page never runs in
phasegate's origin. ``?inline=true`` shows an image (:data:`IMAGES`) in place, for the page's
preview; nothing else is ever inline.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, BinaryIO, cast
from urllib.parse import quote

import anyio.from_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from workflow.domain import inputs, limits
from workflow.domain.deliverables import DeliverableVersion, FilesReport
from workflow.domain.inputs import CODE_MAX, FILE_NAME_MAX, LINE_MAX, TEXT_MAX, URL_MAX
from workflow.engine.deliverables.read import Opened
from workflow.errors import NotFound, UsageError
from workflow.server.api.common import (
    MOVED_ON,
    EventOut,
    IdempotencyKey,
    IfMatch,
    command,
    event_response,
    expected_seq,
)
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["deliverables"])
KEY_MAX = 64
# What a browser may be told a download is: it shows these, it runs none of them.
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SHOWN = IMAGES | {"application/pdf"}
# A download's own policy: nothing in it may load, run, or reach phasegate's origin.
FILE_CSP = "default-src 'none'; sandbox"
Key = Annotated[str, Field(max_length=KEY_MAX)]


class LinkIn(BaseModel):
    """A version that is a link to work that lives elsewhere (phasegate has not seen its content)."""

    url: str = Field(max_length=URL_MAX)
    label: str | None = Field(default=None, max_length=LINE_MAX)
    note: str | None = Field(default=None, max_length=TEXT_MAX)


BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": BINARY, "application/json": {"schema": LinkIn.model_json_schema()}}}}
FILE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "the file's bytes, streamed", "content": {"application/octet-stream": BINARY}}}


class Versions(BaseModel):
    project: str
    deliverables: list[DeliverableVersion]


class BodyReader(io.RawIOBase):
    """A request's body as a blocking binary stream, for the worker thread the Engine runs in: each
    ``read`` waits on the event loop for the request's next chunks (nothing gathered beyond ``n``)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._left = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    async def _gather(self, wanted: int) -> bytes:
        """On the event loop: the request's next chunks until ``wanted`` bytes (or its end), so a
        1 MiB read costs one hand-over between the threads, not one for each ~64 KiB received."""
        out = bytearray(self._left[:wanted])
        self._left = self._left[wanted:]
        while len(out) < wanted and not self._ended:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._ended = True
                break
            take = wanted - len(out)
            out += chunk[:take]
            self._left = chunk[take:]
        return bytes(out)

    def read(self, n: int = -1) -> bytes:
        wanted = n if n is not None and n >= 0 else 1 << 62
        if len(self._left) >= wanted or self._ended:
            out, self._left = self._left[:wanted], self._left[wanted:]
            return out
        return anyio.from_thread.run(self._gather, wanted)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


async def _json_body(request: Request) -> Any:
    most = int(limits.REQUEST_BYTES.default)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > most:
            raise UsageError(f"a link's JSON body is at most {most:,} bytes")
    try:
        return json.loads(data)
    except ValueError:
        raise UsageError("the body is not JSON (send a file as application/octet-stream)") from None


@router.post("/projects/{code}/deliverables/{key}", status_code=201, response_model=EventOut,
             responses=MOVED_ON, openapi_extra=FILE_BODY)
async def add_deliverable(
    code: str,
    key: str,
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    name: str | None = Query(default=None, max_length=FILE_NAME_MAX, description="the file's name as shown"),
    note: str | None = Query(default=None, max_length=TEXT_MAX, description="what changed in this version"),
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> Response:
    """Add the next version of deliverable ``key`` of the project's current phase: the body's bytes
    (streamed; its name in ``?name=``), or a JSON body ``{url, label, note}`` for a link (a holder of
    a role that may add it). A new version voids the current round's approvals that bound the old one."""
    command(request, "deliverable.add")
    run: dict[str, Any] = {"actor": who, "request_id": idempotency_key,
                           "expected_seq": expected_seq(if_match)}
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        try:
            link = LinkIn.model_validate(await _json_body(request))
        except ValidationError as exc:
            raise UsageError("a link is {url, label, note}: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())) from None
        event = await run_in_threadpool(lambda: engine.add_deliverable(
            code, key, url=link.url, label=link.label, note=note if link.note is None else link.note, **run))
        return event_response(event, status_code=201)
    if not name:
        raise UsageError("give the file's name (?name=estimate.xlsx); its bytes are the body")
    body = BodyReader(request.stream())
    event = await run_in_threadpool(lambda: engine.add_deliverable(code, key, cast(BinaryIO, body), name=name,
                                                                   note=note, **run))
    return event_response(event, status_code=201)


@router.get("/projects/{code}/deliverables", response_model=Versions)
def list_deliverables(
    code: str,
    who: CurrentIdentity,
    engine: EngineDep,
    phase: str | None = Query(default=None, max_length=KEY_MAX),
    key: str | None = Query(default=None, max_length=KEY_MAX),
) -> dict[str, Any]:
    """Every version of the project's deliverables (of ``phase``, of ``key``): who, when, size, sha256."""
    return {"project": code, "deliverables": engine.deliverables(code, phase=phase, key=key, reader=who)}


def disposition(kind: str, name: str) -> str:
    """``attachment; filename="…"; filename*=UTF-8''…``: an ASCII stand-in and the exact name."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name) or "file"
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(opened: Opened, *, inline: bool = False) -> StreamingResponse:
    """A stored version's bytes as a download that never runs in phasegate's origin."""
    v = opened.version
    if v.kind != "file" or v.sha256 is None:
        raise NotFound(f"the {v.title} v{v.version} of {v.project} is a link, not a file: {v.url}")
    media = v.media_type if v.media_type in SHOWN else "application/octet-stream"
    shown_inline = inline and media in IMAGES
    headers = {
        "Content-Disposition": disposition("inline" if shown_inline else "attachment", v.name or v.key),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
        "ETag": f'"{v.sha256}"',
        "Content-Length": str(v.size),
        "Cache-Control": "private, no-cache",
    }
    return StreamingResponse(opened.chunks, media_type=media, headers=headers)


@router.get("/projects/{code}/deliverables/{key}", response_class=StreamingResponse, responses=FILE_ANSWER)
def get_deliverable(
    code: str,
    key: str,
    who: CurrentIdentity,
    engine: EngineDep,
    version: int | None = Query(default=None, ge=1, le=2**31 - 1),
    phase: str | None = Query(default=None, max_length=KEY_MAX),
    inline: bool = Query(default=False, description="an image shown in place (the page's preview)"),
) -> Response:
    """A version's bytes (the newest by default), streamed as an attachment; the ETag is its sha256."""
    return file_response(engine.open_deliverable(code, key, version, phase=phase, reader=who), inline=inline)


@router.post("/audit/prove", openapi_extra={"requestBody": {"required": False, "content": {
    "application/octet-stream": BINARY}}})
async def prove(
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    sha256: str | None = Query(default=None, max_length=64, description="the file's digest, computed by the "
                               "client (then no body)"),
    project: str | None = Query(default=None, max_length=CODE_MAX),
) -> Response:
    """Which approvals signed exactly these bytes (the body, streamed; or ``?sha256=``): project, gate,
    round, role, who, when, the event's hash, and what became of each approval."""
    project = None if project is None else inputs.project_code(project)
    if sha256 is not None:
        proof = await run_in_threadpool(lambda: engine.prove(sha256=sha256, project=project, reader=who))
    else:
        body = cast(BinaryIO, BodyReader(request.stream()))
        proof = await run_in_threadpool(lambda: engine.prove(body, project=project, reader=who))
    return JSONResponse({**proof.to_dict(), "covered": proof.covered})


@router.get("/audit/files", response_model=FilesReport)
def verify_files(who: CurrentIdentity, engine: EngineDep,
                 project: str | None = Query(default=None, max_length=CODE_MAX)) -> FilesReport:
    """Every stored deliverable's bytes hashed again and compared with its record (admins, auditors)."""
    return engine.verify_deliverables(None if project is None else inputs.project_code(project), reader=who)
