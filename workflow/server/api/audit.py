"""``/audit``: verify the chains, write a checkpoint, stream an export (admins and auditors)."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from workflow import settings
from workflow.domain import limits
from workflow.domain.audit.checkpoint import MAX_BYTES as CHECKPOINT_MAX_BYTES
from workflow.domain.audit.checkpoint import load_checkpoint
from workflow.domain.deliverables import FilesReport
from workflow.domain.identity import Identity
from workflow.domain.inputs import CODE_MAX, JOBS_MAX, utf8_text
from workflow.domain.results import AuditReport
from workflow.engine import Engine
from workflow.errors import UsageError
from workflow.server.auth import CurrentIdentity, EngineDep
from workflow.server.spool import InFlight, Spool, SpoolResponse

router = APIRouter(tags=["audit"])
# A project code in a query (the export).
Project = Annotated[str | None, Query(max_length=CODE_MAX)]
CHECKPOINT_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


async def _body_text(request: Request, most: int, what: str) -> str:
    """The request's body as text, refused with a sentence beyond ``most`` bytes or when not UTF-8."""
    too_large = f"the body is larger than {what} can be ({most} bytes)"
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > most:  # refused as soon as it is past the bound, not when it has all come
            raise UsageError(too_large)
    return utf8_text(data, most, too_large=too_large, not_text=f"the body is not {what} (not UTF-8 text)")


class VerifyQuery:
    """What ``/audit/verify`` takes in its query, with or without a checkpoint in the body."""

    def __init__(
        self,
        project: Project = None,
        jobs: int | None = Query(default=None, ge=1, le=JOBS_MAX),
        replay: bool = Query(default=True, description="false: the hash chains only, not the state check"),
    ) -> None:
        self.project, self.jobs, self.replay = project, jobs, replay


VerifyQueryDep = Annotated[VerifyQuery, Depends()]


@dataclass(frozen=True)
class Verified(AuditReport):
    """The chains' report and, when they are intact, every stored deliverable's bytes hashed again
    (``files``: its own ``ok``, false naming each changed or missing file; the report's ``ok`` is the
    chains')."""

    files: FilesReport | None = None


def _with_files(report: AuditReport, engine: Engine, project: str | None, who: Identity) -> Verified:
    files = engine.verify_deliverables(project, reader=who) if report.ok else None
    fields = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    return Verified(**fields, files=files)


@router.get("/audit/verify", response_model=Verified)
def verify(who: CurrentIdentity, engine: EngineDep, q: VerifyQueryDep) -> Verified:
    """Recompute the hash chains (all, or one project's), then replay them against the state tables;
    a broken chain or a state that differs is a report with ``ok: false``; then every stored
    deliverable's bytes are hashed again (``files``)."""
    return _with_files(engine.verify_audit(q.project, reader=who, jobs=q.jobs, replay=q.replay), engine,
                       q.project, who)


@router.post("/audit/verify", response_model=Verified, openapi_extra=CHECKPOINT_BODY)
async def verify_against_checkpoint(
    request: Request, who: CurrentIdentity, engine: EngineDep, q: VerifyQueryDep
) -> Verified:
    """Verify, and require every chain the checkpoint in the body recorded to be intact.

    The body is the checkpoint file's text (``audit checkpoint``); its digest, and its
    signature when the server has PHASEGATE_CHECKPOINT_KEY, are checked before the chains.
    """
    text = await _body_text(request, CHECKPOINT_MAX_BYTES, "a checkpoint")

    def verify() -> Verified:
        cp = load_checkpoint(text, settings.current().checkpoint_key, source="the uploaded checkpoint")
        return _with_files(engine.verify_audit(q.project, reader=who, checkpoint=cp, jobs=q.jobs,
                                               replay=q.replay), engine, q.project, who)

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
async def export(request: Request, who: CurrentIdentity, engine: EngineDep,
                 format: Literal["jsonl", "csv"] = "jsonl",
                 project: Project = None, raw: bool = False) -> Response:
    """Every event (or one project's), streamed: memory stays the same whatever the size.

    A thread reads the trail in one snapshot into a spool file that the answer sends as it
    grows (workflow/server/spool.py): the database connection is given back when the snapshot
    is read, however slowly the client takes the answer. A refusal (the permission is checked
    before anything is written) is a plain error answer. At most ``limits.EXPORTS_PER_PERSON``
    exports of one person and ``limits.EXPORTS_PER_PROCESS`` in all are in flight; beyond
    them the answer is 503 busy with Retry-After.
    """
    spool = Spool(_exports_in_flight(request).take(who.person))

    def produce() -> None:
        try:
            engine.export(spool, format, project=project, reader=who, raw=raw)
        except BaseException as exc:
            spool.finish(exc)
        else:
            spool.finish()

    threading.Thread(target=produce, name="phasegate-export", daemon=True).start()
    try:
        await spool.started()
        if spool.error is not None and not spool.wrote:  # refused before writing anything
            raise spool.error
    except BaseException:
        spool.close()
        raise
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return SpoolResponse(spool, media_type=media, stall=float(limits.EXPORT_STALL.default))


def _exports_in_flight(request: Request) -> InFlight:
    """The app's one count of exports in flight (made on the first export)."""
    state = request.app.state
    if getattr(state, "exports_in_flight", None) is None:
        state.exports_in_flight = InFlight(int(limits.EXPORTS_PER_PERSON.default),
                                           int(limits.EXPORTS_PER_PROCESS.default), "audit export")
    in_flight: InFlight = state.exports_in_flight
    return in_flight
