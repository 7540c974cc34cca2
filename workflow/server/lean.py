"""The project commands' lean path: their endpoints served in plain ASGI, FastAPI left out of it.

Every project command (``workflow/domain/commands.py``) is still a FastAPI route (``api/projects.py``):
the OpenAPI document comes from there, and a request that carries no ``Authorization`` header (a
web session with its CSRF token, a single-sign-on proxy's header, nobody) is still served by it.
A request with a bearer token to a command's path is answered here instead, before FastAPI and its
middleware see it (``app.Phasegate``); this path does their work itself, each piece declared once
where the middleware has it: the body's bounds (``bodies.Bound``), the security headers
(``app.headed``), the metrics and the access-log line (``observe.record``), a bug's 500
(``app.server_error``, then raised for the server's log):

* the headers it needs are read off the scope in one pass (``Authorization``, ``Idempotency-Key``,
  ``If-Match``, ``Content-Type``), with the limits the FastAPI route declares;
* the body is parsed once (orjson) and validated by the same pydantic model the route documents;
* the token check and the command run in **one** hand-off to a worker thread (FastAPI made three:
  the identity dependency, the endpoint, and the answer's validation) — or in none where the
  database has one writer (SQLite): there the commands wait for each other anyway, and run on the
  event loop's own thread they use its held connection, warm, with no thread to wake. That cut the
  server's CPU per command by about a fifth (0.4-0.5 ms, benchmarks/results.md); its cost: while
  a command runs (its fsync, or a wait for another process's write lock up to the lock wait) this
  worker answers nothing else. On PostgreSQL a command is network round trips, which a blocked loop
  would wait out doing nothing, and commands on different projects run side by side: one hand-off;
* the answer, the command's event (with a staffing change's ``warnings``, as the route adds them),
  is encoded once (orjson) and sent.

Refusals are the same as the route's: a body that is not JSON 400, a field or a header out of its
limits 422 (after the token check, as FastAPI checks the credential first), every PhasegateError
the error body with its status. Why: FastAPI's routing, dependency injection, validation and
thread hand-offs cost about 1.3 ms of CPU a request, more than the command itself (issue 27;
docs/inside/architecture.md, "The lean command path").
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import orjson
from anyio import to_thread
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from workflow.domain.commands import COMMANDS, Command
from workflow.domain.identity import Identity
from workflow.errors import PhasegateError, Unauthenticated, UsageError
from workflow.server.api.common import expected_seq
from workflow.server.bodies import Bound, Cut, refuse
from workflow.server.errors import error_body
from workflow.server.observe import record

PREFIX = "/api/v1"
# The headers' limits, as the FastAPI route declares them (api/common.py: IdempotencyKey, IfMatch).
HEADER_MAX = {b"idempotency-key": ("Idempotency-Key", 128), b"if-match": ("If-Match", 40)}
_WANTED = frozenset({b"authorization", b"idempotency-key", b"if-match", b"content-type"})
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _Route:
    """A command's path as the metrics and the access log name it (``Observe`` reads ``.path``)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class Lean:
    """One command's endpoint: its path's pattern, its body's model and its names."""

    __slots__ = ("cmd", "in_body", "model", "path_names", "pattern", "required", "route", "run", "warns")

    def __init__(self, cmd: Command, model: type[BaseModel] | None, warns: bool = False) -> None:
        self.cmd = cmd
        self.pattern = re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(PREFIX + cmd.path)))
        self.route = _Route(PREFIX + cmd.path)
        self.model = model
        self.required = any(p.required for p in cmd.body_params())
        self.in_body = [(p.name, p.key) for p in cmd.body_params()]
        self.path_names = [p.name for p in cmd.path_params()]
        self.run = cmd.name
        self.warns = warns  # its answer carries the staffing check's warnings


def routes(models: dict[str, type[BaseModel] | None], warned: tuple[str, ...]) -> dict[str, list[Lean]]:
    """Method -> the commands it serves (``models``: each command's body model; ``warned``: the commands
    whose answer carries the staffing warnings; both from api/projects.py)."""
    out: dict[str, list[Lean]] = {}
    for cmd in COMMANDS.values():
        out.setdefault(cmd.method, []).append(Lean(cmd, models[cmd.name], cmd.name in warned))
    return out


class LeanCommands:
    """Serves the project commands' bearer-token requests (see the module's docstring)."""

    def __init__(self, identify: Callable[[Any, str], Identity] | None = None) -> None:
        from workflow.server.api.projects import BODY_MODELS, STAFFING
        from workflow.server.app import headed, server_error  # the app imports this module

        self.routes = routes(BODY_MODELS, STAFFING)
        self.headed, self.server_error = headed, server_error
        # how the command's thread checks a token: (engine, secret) -> identity
        self.identify = identify or (lambda engine, secret: engine.identify_token(secret))

    async def __call__(self, app: Any, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve the request if it is a bearer token's command (then True), else leave it (False)."""
        path: str = scope["path"]
        found = None
        if path.startswith("/api/v1/projects/"):
            for lean in self.routes.get(scope["method"], ()):
                match = lean.pattern.fullmatch(path)
                if match is not None:
                    found = lean, match.groupdict()
                    break
        if found is None:
            return False
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _WANTED and name not in headers:
                headers[name] = value
        authorization = headers.get(b"authorization")
        if authorization is None:  # a session, a proxy's header, or nobody: the FastAPI route's
            return False
        lean, values = found
        scope["app"] = app
        scope["route"] = lean.route
        state = scope.setdefault("state", {})
        state["action"] = lean.cmd.action
        started = time.perf_counter()
        status: int | None = None  # until it answers

        async def sending(message: Message) -> None:  # every answer's security headers, and its status
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = self.headed(path, message["headers"])
            await send(message)

        try:
            try:
                bound = Bound(scope, app.state.settings.body_seconds)
                if bound.refusal is not None:
                    await refuse(scope, receive, sending, bound.refusal)
                else:
                    await self.serve(scope, bound, receive, sending, lean, values, headers, authorization,
                                     state)
            except Cut:
                assert bound.refusal is not None
                await refuse(scope, receive, sending, bound.refusal)
            except PhasegateError as exc:
                await answer_error(scope, receive, sending, exc)
            except PoolTimeout as exc:
                from workflow.server.errors import pool_exhausted

                await pool_exhausted(Request(scope, receive), exc)(scope, receive, sending)
        except Exception as exc:  # a bug, even in answering a refusal: as ServerErrorMiddleware answers it,
            if status is None:  # then raised to be logged
                await self.server_error(Request(scope, receive), exc)(scope, receive, sending)
            raise
        finally:
            record(scope, 500 if status is None else status, time.perf_counter() - started)
        return True

    async def serve(self, scope: Scope, bound: Bound, receive: Receive, send: Send, lean: Lean,
                    values: dict[str, str], headers: dict[bytes, bytes], authorization: bytes,
                    state: dict[str, Any]) -> None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be: Bearer TOKEN")
        secret = token.strip()
        problems: list[dict[str, str]] = []
        for name, (label, most) in HEADER_MAX.items():
            value = headers.get(name)
            if value is not None and len(value.decode("latin-1")) > most:
                problems.append({"where": f"header.{label}",
                                 "message": f"String should have at most {most} characters"})
        body = await read_body(bound, receive)
        args: dict[str, Any] = {}
        if lean.model is not None:
            try:
                parsed = parse_body(body, headers.get(b"content-type"))
            except _NotJson as exc:
                if exc.args[0] is None:  # unreadable beyond a position: FastAPI's own answer, word for word
                    from starlette.exceptions import HTTPException

                    from workflow.server.errors import http_error

                    unread = HTTPException(400, "There was an error parsing the body")
                    await http_error(Request(scope, receive), unread)(scope, receive, send)
                    return
                problems = [{"where": f"body.{exc.args[0]}", "message": "JSON decode error"}]
                await invalid(400, "the body is not JSON", problems)(scope, receive, send)
                return
            problems += validate(lean, parsed, args)
        key = headers.get(b"idempotency-key")
        if_match = headers.get(b"if-match")
        engine = scope["app"].state.engine
        identify = self.identify

        def work() -> Any:
            identity = identify(engine, secret)
            state["identity"] = identity
            if problems:  # the credential first, as FastAPI checks it before the fields
                return problems
            code = values["code"]
            path_args = {name: values[name] for name in lean.path_names}
            event = getattr(engine, lean.run)(
                code, **path_args, **args, actor=identity,
                request_id=None if key is None else key.decode("latin-1"),
                expected_seq=expected_seq(None if if_match is None else if_match.decode("latin-1")))
            answer: dict[str, Any] = event.to_dict()
            if lean.warns:  # a staffing change: the gates the team can no longer sign (api/projects.warned)
                answer["warnings"] = engine.check_project(event.project, reader=identity).warnings
            return answer

        # One writer (SQLite): run here, on the event loop's thread (its held connection, no hand-off);
        # else in one worker thread (see the module's docstring)
        done = work() if engine.store.dialect.one_writer else await to_thread.run_sync(work)
        if isinstance(done, list):
            message = "; ".join(f"{p['where']}: {p['message']}" for p in done)
            await invalid(422, message, done)(scope, receive, send)
            return
        payload = orjson.dumps(done)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(payload)).encode()), *_JSON_HEADERS]})
        await send({"type": "http.response.body", "body": payload})


def invalid(status: int, message: str, problems: list[dict[str, str]]) -> Response:
    """A body that is not JSON (400), or fields or headers out of their limits (422): the error body
    FastAPI's validation answers with (``errors.validation_error``)."""
    return JSONResponse(error_body(UsageError.kind, message, problems=problems), status_code=status)


class _NotJson(Exception):
    pass


async def read_body(bound: Bound, receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await bound.receive(receive)
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


_NONE = object()


def parse_body(body: bytes, content_type: bytes | None) -> Any:
    """The JSON body as FastAPI reads it: none when empty; JSON when the type says JSON (or says
    nothing); the raw bytes otherwise (which the model then refuses)."""
    if not body:
        return None
    if content_type is not None:
        main, _, sub = content_type.decode("latin-1").split(";", 1)[0].strip().lower().partition("/")
        if main != "application" or not (sub == "json" or sub.endswith("+json")):
            return _NONE
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson refuses and json takes (NaN), or where json says the error is, as FastAPI reads it
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise _NotJson(exc.pos) from None
    except UnicodeDecodeError:
        raise _NotJson(0) from None
    except (ValueError, RecursionError):  # an integer of over 4,300 digits, or nesting past the stack
        raise _NotJson(None) from None


def validate(lean: Lean, parsed: Any, args: dict[str, Any]) -> list[dict[str, str]]:
    """Fill ``args`` with the body's fields (by parameter name); the problems, as FastAPI words them."""
    if parsed is None and not lean.required:
        args.update({name: None for name, _key in lean.in_body})
        return []
    if parsed is None:
        return [{"where": "body", "message": "Field required"}]
    if parsed is _NONE:
        return [{"where": "body", "message": "Input should be a valid dictionary or object to extract fields "
                                             "from"}]
    assert lean.model is not None
    try:
        model = lean.model.model_validate(parsed, from_attributes=True)
    except ValidationError as exc:
        return [{"where": ".".join(str(p) for p in ("body", *e["loc"])), "message": e["msg"]}
                for e in exc.errors()]
    args.update({name: getattr(model, key) for name, key in lean.in_body})
    return []


async def answer_error(scope: Scope, receive: Receive, send: Send, exc: PhasegateError) -> None:
    from workflow.server.errors import phasegate_error

    response: Response = phasegate_error(Request(scope, receive), exc)
    await response(scope, receive, send)

