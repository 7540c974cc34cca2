"""``/templates``: published process templates, validating and publishing YAML, diagrams, reports."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from workflow.domain.results import TemplateInfo
from workflow.domain.templates import schema
from workflow.domain.templates.document import template_document
from workflow.errors import DefinitionError
from workflow.server.api.common import command, links
from workflow.server.auth import CurrentIdentity, EngineDep
from workflow.server.checks import TEMPLATE_CHECKS, check_template

router = APIRouter(tags=["templates"])
YAML_BODY = {
    "requestBody": {"required": True, "content": {"application/x-yaml": {"schema": {"type": "string"}}}}
}
MAX_BYTES = schema.MAX_BYTES + 1  # one past the loader's limit: it refuses with its own sentence


async def _yaml(request: Request) -> bytes:
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BYTES:
            break  # the loader refuses it with its own sentence
    return data


@router.get(
    "/templates",
    response_model=list[TemplateInfo],
    responses=links(
        200,
        show=("get", "/templates/{key}", {"key": "$response.body#/0/key"}),
        diagram=("get", "/templates/{key}/diagram", {"key": "$response.body#/0/key"}),
        create_project=("post", "/projects", {}, {"template": "$response.body#/0/key"}),
    ),
)
def templates(_who: CurrentIdentity, engine: EngineDep) -> list[TemplateInfo]:
    """The latest version of every published template."""
    return engine.templates()


@router.get("/templates/{key}")
def template(
    key: str,
    _who: CurrentIdentity,
    engine: EngineDep,
    version: int | None = Query(default=None, ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """One version (default: the latest), with its exact YAML text."""
    info, definition, source = engine.template(key, version)
    return {**template_document(info, definition), "source": source}


@router.post("/templates/validate", openapi_extra=YAML_BODY)
async def validate(request: Request, _who: CurrentIdentity) -> dict[str, Any]:
    """Check a template's YAML and report every problem with its line (publishes nothing)."""
    data = await _yaml(request)
    try:
        definition = await run_in_threadpool(check_template, data, "the template")
    except DefinitionError as exc:
        return {"valid": False, "problems": exc.to_dict()["problems"]}
    return {
        "valid": True,
        "key": definition.key,
        "title": definition.title,
        "roles": len(definition.roles),
        "phases": len(definition.phases),
    }


@router.post("/templates", status_code=201, openapi_extra=YAML_BODY)
async def publish(request: Request, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Publish the YAML as a new version of its template (identical text publishes nothing)."""
    command(request, "template.publish")
    data = await _yaml(request)

    def publish() -> tuple[TemplateInfo, bool]:
        with TEMPLATE_CHECKS.slot():
            return engine.publish_template(data, actor=who, name="the template")

    info, published = await run_in_threadpool(publish)
    return {**info.to_dict(), "published": published}


@router.get(
    "/templates/{key}/diagram",
    # A class without a media type, so the errors are documented as what they are: JSON.
    response_class=Response,
    responses={
        200: {"description": "Mermaid or DOT text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
def diagram(
    key: str,
    _who: CurrentIdentity,
    engine: EngineDep,
    format: Literal["mermaid", "dot"] = "mermaid",
    version: int | None = Query(default=None, ge=1),
    lead_moves: bool = True,
) -> PlainTextResponse:
    """The compiled state machine as Mermaid or Graphviz DOT."""
    from workflow.domain.templates.diagram import render
    from workflow.domain.templates.machine import compile_machine

    _info, definition, _source = engine.template(key, version)
    return PlainTextResponse(render(definition, compile_machine(definition), format, lead_moves=lead_moves))


@router.get("/templates/{key}/report")
def template_report(key: str, who: CurrentIdentity, engine: EngineDep) -> dict[str, Any]:
    """Medians across the template's projects: per phase and gate role, the longest waits."""
    return engine.template_report(key, reader=who).to_dict()
