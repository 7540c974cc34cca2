"""The project page's Deliverables section: what it shows (:func:`shown`), and its upload form's POST.

The upload is a multipart form (a browser's only way to send a file). Its body is bounded by the
file limit before it is read (:mod:`workflow.server.bodies`); Starlette's parser keeps at most
1 MiB of the file in memory and spools the rest to a temporary file, which the Engine then
reads 1 MiB at a time, so a 100 MiB upload never sits in memory. Then POST, redirect, GET: the
project page with what was done, or the refusal's sentence.

Downloads and previews are the API's route (``GET /api/v1/projects/{code}/deliverables/{key}``,
which a signed-in browser reaches with its session): always an attachment, an image inline only
with ``?inline=true``, never a page that runs. A PDF has no preview: the CSP's ``object-src
'none'`` and ``X-Frame-Options: DENY`` forbid embedding it, and that stays so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from workflow.domain.deliverables import digests
from workflow.domain.identity import Identity
from workflow.domain.results import ProjectStatus
from workflow.domain.wording import describe
from workflow.engine import Engine
from workflow.errors import DeliverablesChanged, PhasegateError, PreconditionFailed, UsageError
from workflow.server.api.deliverables import IMAGES
from workflow.server.auth import engine_of
from workflow.server.web.flash import remember
from workflow.server.web.session import signed_in, viewer

router = APIRouter()
FIELDS_MOST = 8  # csrf, seq, request_id, note, file: a few more is a mistake, many an attack


def download_url(code: str, key: str, version: int, phase: str, *, inline: bool = False) -> str:
    query = {"version": version, "phase": phase} | ({"inline": "true"} if inline else {})
    return f"/api/v1/projects/{quote(code, safe='')}/deliverables/{quote(key, safe='')}?{urlencode(query)}"


def shown(engine: Engine, st: ProjectStatus, me: Identity) -> tuple[list[dict[str, Any]], str | None]:
    """The current phase's deliverables as the page draws them (each with its versions, newest first,
    whether ``me`` may upload one, and the newest's preview if it is an image), and the digests the
    Approve forms carry: ``KEY=SHA256 …`` of the newest versions shown ("" when none has a version
    yet; None when the phase has no deliverables)."""
    if not st.deliverables:
        return [], None
    try:
        versions = engine.deliverables(st.code, phase=st.phase, reader=me)
    except PhasegateError:
        versions = []
    out, seen = [], []
    for d in st.deliverables:
        mine = [v for v in versions if v.key == d["key"] and v.round == st.round] or [
            v for v in versions if v.key == d["key"]]
        mine = sorted(mine, key=lambda v: v.version, reverse=True)
        newest = mine[0] if mine else None
        if newest is not None and newest.kind == "file" and newest.sha256:
            seen.append(f"{d['key']}={newest.sha256}")
        rows = [{"v": v, "href": v.url if v.kind != "file" else
                 download_url(st.code, v.key, v.version, v.phase)} for v in mine]
        preview = (download_url(st.code, d["key"], newest.version, newest.phase, inline=True)
                   if newest is not None and newest.media_type in IMAGES else None)
        may_add = any(me.person in st.team.get(role, ()) for role in d.get("by") or ())
        out.append({**d, "versions": rows, "newest": newest, "preview": preview, "may_add": may_add})
    return out, " ".join(seen)


def changed(engine: Engine, code: str, me: Identity, form: dict[str, Any], error: PhasegateError
            ) -> PhasegateError:
    """An Approve form refused because the project moved on since the page was drawn: when what moved
    is a deliverable the page showed, the refusal says so (the digests it carried are not the
    current ones), not only that the project moved on."""
    seen = form.get("deliverables")
    if form.get("action") != "approve" or not isinstance(seen, str) or \
            not isinstance(error, PreconditionFailed) or isinstance(error, DeliverablesChanged):
        return error
    try:
        st = engine.status(code, reader=me)
        was = digests(seen) or {}
    except PhasegateError:
        return error
    now = {d["key"]: d["current"] for d in st.deliverables if d.get("current")}
    differ = [d["title"] for d in st.deliverables
              if (now.get(d["key"]) or {}).get("sha256") != was.get(d["key"])
              and (now.get(d["key"]) or {}).get("kind") != "link"]
    if not differ:
        return error
    s = "s" if len(differ) > 1 else ""
    return DeliverablesChanged(
        f"the {' and the '.join(differ)} of {st.phase_title} on {code}: not the version{s} this approval was "
        f"given on (a new version came in since the page was drawn); look at the current one{s} and approve "
        "again", {k: {"version": c["version"], "sha256": c["sha256"]} for k, c in sorted(now.items())})


@router.post("/projects/{code}/deliverables/{key}")
async def upload(request: Request, code: str, key: str) -> Response:
    """A new version from the page's form (multipart: ``file``, ``note``), then back to the project."""
    from workflow.server.web.actions import project_path, see, text

    await run_in_threadpool(signed_in, request)
    back = project_path(code)
    try:
        async with request.form(max_files=1, max_fields=FIELDS_MOST) as form:
            me = await run_in_threadpool(viewer, request, csrf=str(form.get("csrf") or ""))
            file = form.get("file")
            if not isinstance(file, UploadFile) or not file.filename:
                raise UsageError("choose the file to upload")
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            request.state.action = "deliverable.add"
            event = await run_in_threadpool(
                lambda: engine_of(request).add_deliverable(
                    code, key, file.file, actor=me, name=file.filename, note=text(fields, "note"),
                    request_id=text(fields, "request_id")))
    except PhasegateError as exc:
        return remember(request, see(back + "#h-deliverables"), error=exc)
    said = f"{code}: done (upload): {describe(event.action, event.data)}."
    return remember(request, see(back + "#h-deliverables"), notice=said)
