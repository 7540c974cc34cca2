"""``/audit``: verify the chains, write a checkpoint, stream an export (admins and auditors)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from workflow.domain.results import AuditReport
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["audit"])
STALLED_SECONDS = 60


@router.get("/audit/verify", response_model=AuditReport)
def verify(
    who: CurrentIdentity,
    engine: EngineDep,
    project: str | None = Query(default=None, max_length=64),
    jobs: int | None = Query(default=None, ge=1, le=64),
) -> AuditReport:
    """Recompute the hash chains (all, or one project's); a broken chain is a report with ``ok: false``."""
    return engine.verify_audit(project, reader=who, jobs=jobs)


@router.post("/audit/checkpoint")
def checkpoint(who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Every chain's length and head, signed when the server has PHASEGATE_CHECKPOINT_KEY."""
    return engine.checkpoint(reader=who).to_dict()


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
