"""``/audit``: verify the chains, write a checkpoint, stream an export (admins and auditors)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from workflow.domain.checkpoint import MAX_BYTES as CHECKPOINT_MAX_BYTES
from workflow.domain.checkpoint import checkpoint_key, load_checkpoint
from workflow.domain.inputs import JOBS_MAX
from workflow.domain.results import AuditReport
from workflow.errors import UsageError
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["audit"])
STALLED_SECONDS = 60
CHECKPOINT_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


async def _body_text(request: Request, most: int, what: str) -> str:
    """The request's body as text, refused with a sentence beyond ``most`` bytes or when not UTF-8."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > most:
            raise UsageError(f"the body is larger than {what} can be ({most} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"the body is not {what} (not UTF-8 text)") from None


@router.get("/audit/verify", response_model=AuditReport)
def verify(
    who: CurrentIdentity,
    engine: EngineDep,
    project: str | None = Query(default=None, max_length=64),
    jobs: int | None = Query(default=None, ge=1, le=JOBS_MAX),
    replay: bool = Query(default=True, description="false: the hash chains only, not the state check"),
) -> AuditReport:
    """Recompute the hash chains (all, or one project's), then replay them against the state tables;
    a broken chain or a state that differs is a report with ``ok: false``."""
    return engine.verify_audit(project, reader=who, jobs=jobs, replay=replay)


@router.post("/audit/verify", response_model=AuditReport, openapi_extra=CHECKPOINT_BODY)
async def verify_against_checkpoint(
    request: Request,
    who: CurrentIdentity,
    engine: EngineDep,
    project: str | None = Query(default=None, max_length=64),
    jobs: int | None = Query(default=None, ge=1, le=JOBS_MAX),
    replay: bool = Query(default=True, description="false: the hash chains only, not the state check"),
) -> AuditReport:
    """Verify, and require every chain the checkpoint in the body recorded to be intact.

    The body is the checkpoint file's text (``audit checkpoint``); its digest, and its
    signature when the server has PHASEGATE_CHECKPOINT_KEY, are checked before the chains.
    """
    text = await _body_text(request, CHECKPOINT_MAX_BYTES, "a checkpoint")

    def verify() -> AuditReport:
        cp = load_checkpoint(text, checkpoint_key(), source="the uploaded checkpoint")
        return engine.verify_audit(project, reader=who, checkpoint=cp, jobs=jobs, replay=replay)

    return await run_in_threadpool(verify)


@router.post("/audit/checkpoint")
def checkpoint(
    who: CurrentIdentity, engine: EngineDep, jobs: int | None = Query(default=None, ge=1, le=JOBS_MAX)
) -> dict[str, Any]:
    """Every chain's length and head, signed when the server has PHASEGATE_CHECKPOINT_KEY."""
    return engine.checkpoint(reader=who, jobs=jobs).to_dict()


EXPORT_TYPES = {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "text/csv": {"schema": {"type": "string"}},
}


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"description": "JSON Lines or CSV, streamed", "content": EXPORT_TYPES}},
)
def export(
    who: CurrentIdentity,
    engine: EngineDep,
    format: Literal["jsonl", "csv"] = "jsonl",
    project: str | None = Query(default=None, max_length=64),
    raw: bool = False,
) -> StreamingResponse:
    """Every event (or one project's), streamed: memory stays the same whatever the size.

    The permission is checked before the response starts (a refusal is a plain error),
    then the engine writes into a bounded queue that the response drains.
    """
    chunks: queue.Queue[str | BaseException | None] = queue.Queue(maxsize=64)
    started = threading.Event()
    first_error: list[BaseException] = []

    class Sink:
        def write(self, text: str) -> int:
            started.set()
            chunks.put(text, timeout=STALLED_SECONDS)  # a client gone away ends the export, not a leak
            return len(text)

    def produce() -> None:
        try:
            engine.export(Sink(), format, project=project, reader=who, raw=raw)
        except BaseException as exc:
            first_error.append(exc)
            chunks.put(exc)
        finally:
            started.set()
            chunks.put(None)

    threading.Thread(target=produce, daemon=True).start()
    started.wait()
    if first_error and chunks.qsize() <= 2:  # refused before writing anything: a plain error response
        raise first_error[0]

    def body() -> Iterator[str]:
        while (item := chunks.get()) is not None:
            if isinstance(item, BaseException):
                return  # the stream ends short; the client sees a truncated body
            yield item

    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(body(), media_type=media)
