"""The web app: server-rendered pages on the same Engine and rules as the API.

Pages work with JavaScript off (plain forms: POST, then a redirect to a GET); the
shipped htmx only makes them quicker (partial swaps) and live (a project page polls its
``seq`` and refreshes when someone else acts). Every form carries the session's CSRF
token, and every project form the ``seq`` of the state it was drawn from.
"""

from pathlib import Path

from fastapi import APIRouter

from workflow.server.web import actions, deliverables, insights, invitations, link, pages, settings

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(actions.router)
router.include_router(deliverables.router)
router.include_router(insights.router)
router.include_router(settings.router)
router.include_router(link.router)
router.include_router(invitations.router)
