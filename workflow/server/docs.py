"""``/api/v1/docs``: Swagger UI over the API's OpenAPI document, from files shipped in the package.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script; the
app's Content-Security-Policy (``default-src 'self'``, no inline script) refuses both, so that
page stayed blank. Here the page is a few lines of HTML that name three same-origin files:
Swagger UI's own bundle and stylesheet (swagger-ui-dist, vendored unchanged under
``web/static/swagger-ui/`` with its Apache-2.0 licence; the version is in ``SOURCE`` there) and
``web/static/docs.js``, which starts it. They are served, gzipped, by the app's ``/static``.

Swagger UI's stylesheet draws a few icons as ``data:`` images, so this page alone also allows
images from ``data:`` (``img-src``); everything else is the app's policy.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

DOCS_PATH = "/api/v1/docs"
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>phasegate API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<script src="/static/swagger-ui/swagger-ui-bundle.js" defer></script>
<script src="/static/docs.js" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi="/api/v1/openapi.json"></div>
<noscript>The API's documentation needs JavaScript; the OpenAPI document itself is at
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript>
</body>
</html>
"""


@router.get(DOCS_PATH, response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """The API's documentation (no credential needed: the OpenAPI document is public too)."""
    from workflow.server.app import SECURITY_HEADERS  # the app imports this module

    policy = SECURITY_HEADERS["Content-Security-Policy"] + "; img-src 'self' data:"
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": policy})
