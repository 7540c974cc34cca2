"""The HTTP API, ``/api/v1``: one router per resource, each endpoint one Engine call.

The person is always the authenticated identity (``auth.CurrentIdentity``); a request's
``Idempotency-Key`` is the command's request id and its ``If-Match: "SEQ"`` the
project's last event the caller saw.
"""

from fastapi import APIRouter

from workflow.server.api import audit, deliverables, me, notify, people, projects, schedule, templates
from workflow.server.api.common import ERRORS

router = APIRouter(prefix="/api/v1", responses=ERRORS)
for module in (me, people, templates, projects, deliverables, schedule, notify, audit):
    router.include_router(module.router)
