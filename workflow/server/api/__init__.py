"""The HTTP API, ``/api/v1``: one router per resource, each endpoint one Engine call.

The person is always the authenticated identity (``auth.CurrentIdentity``); a request's
``Idempotency-Key`` is the command's request id and its ``If-Match: "SEQ"`` the
project's last event the caller saw.
"""

from fastapi import APIRouter

from workflow.server.api import (
    audit,
    deliverables,
    insights,
    invitations,
    me,
    notify,
    people,
    projects,
    schedule,
    templates,
)
from workflow.server.api.common import ERRORS

router = APIRouter(prefix="/api/v1", responses=ERRORS)
for module in (me, people, templates, projects, invitations, deliverables, insights, schedule, notify, audit):
    router.include_router(module.router)

#: Each router's tag and what its operations are for (the OpenAPI document's tags, in this order).
TAGS = [
    {"name": "me", "description": "Signing in and out, who I am, what waits on me, my API tokens."},
    {"name": "people", "description": "Accounts and the admin and auditor grants (admins change them)."},
    {"name": "templates", "description": "Process templates: publish, validate, read, diagram, report."},
    {"name": "projects", "description": "Projects: the board, a project's status, the moves that change it "
                                        "(the command line's project commands), its history and report."},
    {"name": "deliverables", "description": "A phase's documents: versions uploaded and downloaded "
                                            "(streamed), the proof from a file's bytes (which approvals "
                                            "signed them), every stored file hashed again."},
    {"name": "insights", "description": "Across projects: time in each phase, rounds per gate, time to sign, "
                                        "template versions side by side, projects over their due date, "
                                        "the cycle time month by month (JSON or CSV)."},
    {"name": "schedule", "description": "phasegate's clock (tick) and the personal calendar feed."},
    {"name": "notifications", "description": "Webhooks, e-mail choices and the outbox of notifications."},
    {"name": "audit", "description": "The hash chains: verify, checkpoint, export."},
]
