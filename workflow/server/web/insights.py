"""The Insights page: ``GET /insights`` with the same filters as ``GET /api/v1/insights`` (a GET form),
drawn from the same Engine call's ``to_dict()`` (the JSON document), so the page, the endpoint and the
CLI cannot disagree: the charts and tables are :mod:`workflow.reports.insights_svg`'s."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from workflow.domain.inputs import CODE_MAX, LINE_MAX, VERSION_MAX
from workflow.errors import PhasegateError, UsageError
from workflow.reports.insights_svg import insights_view  # imported with the app: not on a first answer
from workflow.server.auth import engine_of
from workflow.server.web.render import page
from workflow.server.web.session import viewer

router = APIRouter()
FILTERS = ("template", "version", "client", "since", "until")


@router.get("/insights", response_class=HTMLResponse)
def insights(request: Request, template: str | None = Query(default=None, max_length=CODE_MAX),
             version: str | None = Query(default=None, max_length=12),
             client: str | None = Query(default=None, max_length=LINE_MAX),
             since: str | None = Query(default=None, max_length=40),
             until: str | None = Query(default=None, max_length=40)) -> HTMLResponse:
    me, engine = viewer(request), engine_of(request)
    filters = {"template": template or "", "version": (version or "").strip(), "client": client or "",
               "since": since or "", "until": until or ""}
    error: PhasegateError | None = None
    view = None
    try:
        found = engine.insights(viewer=me, template=filters["template"] or None,
                                version=_version(filters["version"]), client=filters["client"] or None,
                                since=filters["since"] or None, until=filters["until"] or None)
        doc = found.to_dict()
        view = insights_view(doc, roles=role_titles(engine, doc))
    except PhasegateError as exc:  # a filter naming what does not exist: the sentence, and the form
        error = exc
    asked = {k: v for k, v in filters.items() if v}
    return page(request, "insights.html", status=error.http_status if error else 200, error=error,
                view=view, charts=_markup(view), filters=filters, templates=engine.templates(),
                csv_href="/api/v1/insights?" + urlencode(asked | {"format": "csv"}))


def role_titles(engine: Any, doc: dict[str, Any]) -> dict[tuple[str, int], dict[str, str]]:
    """The roles' titles of each template version an overdue project is on (a published version is
    read once per process: engine.template's cache)."""
    out: dict[tuple[str, int], dict[str, str]] = {}
    for o in doc.get("overdue") or []:
        key = (str(o["template"]), int(o["version"]))
        if key not in out:
            try:
                _info, definition, _source = engine.template(*key)
                out[key] = {r.key: r.title for r in definition.roles}
            except PhasegateError:
                out[key] = {}
    return out


def _version(text: str) -> int | None:
    """The form's version: a whole number from 1, else the Engine's kind of refusal (422)."""
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= VERSION_MAX:
        raise UsageError(f"the template version must be a whole number from 1 (not {text[:12]!r})")
    return int(text)


def _markup(view: Any) -> dict[str, Markup]:
    """Each section's chart: SVG text the chart module escaped as it drew it, marked safe as such."""
    return {} if view is None else {p.key: Markup(p.svg) for s in view.sections for p in s.parts if p.svg}
