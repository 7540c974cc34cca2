"""The engine's refusals as HTTP: one status and one JSON body, ``{"error": {"kind", "message", ...}}``.

The table "exception -> exit code -> HTTP status -> kind" lives on the exception classes
(``workflow/errors.py``); here it is only applied. A request the framework itself refuses
(a body that is not JSON, a field of the wrong type) gets the same body shape.
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match

from workflow.errors import (
    BadRequest,
    Busy,
    Conflict,
    DatabaseProblem,
    NotFound,
    NotPermitted,
    PhasegateError,
    PreconditionFailed,
    Throttled,
    TooLarge,
    Unauthenticated,
    UsageError,
)


def error_body(kind: str, message: str, **more: Any) -> dict[str, Any]:
    return {"error": {"kind": kind, "message": message, **more}}


API_PATHS = ("/api/", "/healthz", "/readyz", "/metrics")


def for_a_person(request: Request) -> bool:
    """A page's request (a browser asking for HTML off the API): answered with a page, not JSON."""
    return not request.url.path.startswith(API_PATHS) and "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    from workflow.server.web.render import page

    return page(request, "error.html", status=status, error=message, title=HTTPStatus(status).phrase)


UNAVAILABLE = "the database is unavailable; try again later"


def for_the_caller(request: Request, exc: PhasegateError) -> PhasegateError:
    """``exc`` as this request's caller may be told it.

    A database failure's sentence says where the database is (its host and port, its name, its
    file): a caller who has not signed in (``/readyz``, a sign-in, any request whose credential
    could not even be checked) is told only that it is unavailable; the sentence goes to the
    server's log, where whoever runs the server reads it. A signed-in caller is told it as before.
    """
    if not isinstance(exc, DatabaseProblem) or exc.message == UNAVAILABLE:
        return exc
    log_unavailable(request, exc.message)
    if getattr(request.state, "identity", None) is not None:
        return exc
    return DatabaseProblem(UNAVAILABLE)


def log_unavailable(request: Request, message: str) -> None:
    """One JSON line on stderr, beside the access log's: the database failure as it was said."""
    from workflow.server.observe import route_of

    line = {"error": DatabaseProblem.kind, "path": route_of(request), "message": message}
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()


def phasegate_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PhasegateError)
    exc = for_the_caller(request, exc)
    headers = {}
    if isinstance(exc, Throttled | Busy):
        headers["Retry-After"] = str(exc.retry_after)
    if for_a_person(request):
        page = error_page(request, exc.http_status, str(exc))
        page.headers.update(headers)
        return page
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="phasegate"'
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


def pool_exhausted(request: Request, exc: Exception) -> Response:
    """Every database connection of this process was in use for the pool's whole wait
    (``serve --pool-wait``): SQLAlchemy's pool ``TimeoutError``, from wherever in the server a
    connection was asked for, is answered here as :class:`~workflow.errors.Busy` (503 with
    Retry-After), the one place it is turned into an answer, never a 500."""
    assert isinstance(exc, PoolTimeout)
    return phasegate_error(request, Busy(
        "the server is busy: every database connection is in use; try again in a moment", retry_after=1))


def validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    not_json = any(e.get("type") == "json_invalid" for e in errors)
    problems = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in errors
    ]
    message = (
        "the body is not JSON" if not_json else "; ".join(f"{p['where']}: {p['message']}" for p in problems)
    )
    if for_a_person(_request):
        return error_page(_request, 422, message)
    return JSONResponse(
        error_body(UsageError.kind, message, problems=problems), status_code=400 if not_json else 422
    )


# A status the framework answers by itself (no such route, a method it does not take, a body too
# large for it) gets the kind of the error class phasegate answers that status with.
_KINDS = {cls.http_status: cls.kind for cls in (BadRequest, Unauthenticated, NotPermitted, NotFound, Conflict,
                                                PreconditionFailed, TooLarge, UsageError)}
_KINDS |= {405: UsageError.kind, 415: UsageError.kind}


def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if for_a_person(request):
        return error_page(request, exc.status_code, "there is no such page" if exc.status_code == 404
                          else str(exc.detail))
    kind = _KINDS.get(exc.status_code, UsageError.kind if exc.status_code < 500 else DatabaseProblem.kind)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return JSONResponse(error_body(kind, str(exc.detail)), status_code=exc.status_code, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method the path takes (RFC 9110: a 405 lists them all in ``Allow``).

    Starlette names only the methods of the first route whose path matched, and a path such
    as ``/me/session`` has a route per method.
    """
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _child = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    app.add_exception_handler(PhasegateError, phasegate_error)
    app.add_exception_handler(PoolTimeout, pool_exhausted)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
