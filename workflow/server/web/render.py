"""Rendering a page: one Jinja2 environment (autoescape everywhere), the templates in the package."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from workflow.domain import inputs
from workflow.domain.identity import Identity
from workflow.domain.wording import all_chains, count, describe, signature_words
from workflow.server.web.views import strip, waiting_on

FOLDER = Path(__file__).parent


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(FOLDER / "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.filters["when"] = when
    env.globals["describe"] = describe
    env.globals["count"] = count
    env.globals["all_chains"] = all_chains
    env.globals["signature_words"] = signature_words
    env.globals["waiting_on"] = waiting_on
    env.globals["strip"] = strip
    env.globals["fresh_id"] = lambda: "web-" + secrets.token_urlsafe(12)
    # the forms' maxlength: the longest values the engine takes (domain/inputs.py)
    env.globals["most"] = {"code": inputs.CODE_MAX, "person": inputs.PERSON_MAX, "line": inputs.LINE_MAX,
                           "text": inputs.TEXT_MAX}
    return env


def when(at: str | None) -> str:
    """A stored time shown to the minute (the full value goes in the datetime attribute)."""
    return "" if not at else at[:16].replace("T", " ")


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    identity: Identity | None = getattr(request.state, "identity", None)
    html = environment().get_template(template).render(
        request=request, me=identity, csrf=getattr(request.state, "csrf", ""), path=request.url.path,
        **context)
    return HTMLResponse(html, status_code=status)
