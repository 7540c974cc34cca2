"""``/insights``: where projects spend their time, which gates send work back, who holds things up,
across every project the caller may read (issue 25). One Engine call: the CLI's ``phasegate
insights --json`` / ``--csv``, this endpoint and the web page's charts are the same computation's
answer for the same filters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from workflow.domain.inputs import CODE_MAX, LINE_MAX, VERSION_MAX
from workflow.server.auth import CurrentIdentity, EngineDep

router = APIRouter(tags=["insights"])
CSV = "text/csv; charset=utf-8"


class InsightsQuery:
    """The filters, as the CLI's options and the page's form name them (empty: no filter)."""

    def __init__(
        self,
        template: Annotated[str | None, Query(max_length=CODE_MAX, description="a template's key")] = None,
        version: Annotated[int | None, Query(ge=1, le=VERSION_MAX,
                                             description="one version of the template")] = None,
        client: Annotated[str | None, Query(max_length=LINE_MAX,
                                            description="the projects of one client")] = None,
        since: Annotated[str | None, Query(max_length=40, description="from this day on, YYYY-MM-DD "
                                                                      "(inclusive)")] = None,
        until: Annotated[str | None, Query(max_length=40, description="up to this day, YYYY-MM-DD "
                                                                      "(inclusive)")] = None,
    ) -> None:
        self.template, self.version, self.client = template or None, version, client or None
        self.since, self.until = since or None, until or None

    def asked(self) -> dict[str, Any]:
        return {"template": self.template, "version": self.version, "client": self.client,
                "since": self.since, "until": self.until}


InsightsQueryDep = Annotated[InsightsQuery, Depends()]


@router.get(
    "/insights",
    response_class=JSONResponse,
    responses={200: {"description": "the figures (JSON), or the same as one CSV (Accept: text/csv or "
                                    "format=csv)",
                     "content": {"application/json": {"schema": {"type": "object"}},
                                 "text/csv": {"schema": {"type": "string"}}}}},
)
def insights(request: Request, who: CurrentIdentity, engine: EngineDep, q: InsightsQueryDep,
             format: Literal["json", "csv"] | None = Query(default=None, description="csv: the CSV, "
                                                          "whatever the Accept header says")) -> Response:
    """Per phase, gate, role and template version, the projects over their due date, the month-by-month
    cycle time: over the projects the caller may read (admins and auditors: all)."""
    found = engine.insights(viewer=who, **q.asked())
    if format == "csv" or (format is None and wants_csv(request.headers.get("accept", ""))):
        return Response(found.to_csv(), media_type=CSV,
                        headers={"Content-Disposition": 'attachment; filename="insights.csv"'})
    return JSONResponse(found.to_dict())


def wants_csv(accept: str) -> bool:
    """``Accept: text/csv`` (and not JSON first)."""
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "text/csv" in kinds and ("application/json" not in kinds
                                    or kinds.index("text/csv") < kinds.index("application/json"))
