"""Every refusal phasegate can give, under one base class.

Each subclass carries everything a transport needs to report it — the CLI's exit
code, the HTTP status and the ``kind`` of the JSON error body, on its class line — so the
table "exception -> exit code -> HTTP status -> kind" lives here and nowhere else, and a script
using the Python API can catch :class:`PhasegateError` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class PhasegateError(Exception):
    """Base of every error phasegate raises on purpose; ``str()`` is a sentence."""

    exit_code = 1
    http_status = 409
    kind = "refused"

    def __init_subclass__(cls, *, exit_code: int | None = None, http_status: int | None = None,
                          kind: str | None = None, **more: Any) -> None:
        """A subclass states what differs from its parent on its class line:
        ``class NotFound(PhasegateError, exit_code=3, http_status=404, kind="not_found")``."""
        super().__init_subclass__(**more)
        if exit_code is not None:
            cls.exit_code = exit_code
        if http_status is not None:
            cls.http_status = http_status
        if kind is not None:
            cls.kind = kind

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, object]:
        """The error as the JSON body ``{"error": {...}}`` holds it (CLI ``--json`` and HTTP)."""
        return {"kind": self.kind, "message": self.message}


class RuleRefused(PhasegateError, exit_code=1, http_status=409, kind="refused"):
    """The workflow's rules forbid this move now (tasks open, gate unsigned, wrong status)."""

    def __init__(self, message: str, blockers: list[str] | None = None) -> None:
        super().__init__(message)
        self.blockers = list(blockers or [])

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        if self.blockers:
            out["blockers"] = list(self.blockers)
        return out


class DutiesSeparated(RuleRefused):
    """Separation of duties (a gate's ``distinct_from``): the person signed (or had signed for them) an
    earlier gate or did a task the template keeps apart from this one; someone else must sign."""


class UsageError(PhasegateError, exit_code=2, http_status=422, kind="bad_input"):
    """The input itself is malformed (a bad code, a bad time, an empty reason)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a template file, located for a person to fix."""

    source: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class DefinitionError(UsageError, exit_code=2):
    """A template is invalid; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the template"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out["problems"] = [
            {"source": p.source, "line": p.line, "column": p.column, "message": p.message}
            for p in self.problems
        ]
        return out


class NotFound(PhasegateError, exit_code=3, http_status=404, kind="not_found"):
    """A project, template, role or person named by the user does not exist."""


class NotPermitted(PhasegateError, exit_code=4, http_status=403, kind="not_permitted"):
    """The acting person lacks the role or grant this command needs."""


class Conflict(PhasegateError, exit_code=5, http_status=409, kind="conflict"):
    """The thing exists already, or changed meanwhile and retries ran out."""


class AuditBroken(PhasegateError, exit_code=6, http_status=409, kind="audit_broken"):
    """Audit verification found an edited, missing, reordered or forked event."""


class Unsignable(PhasegateError, exit_code=7, http_status=409, kind="unsignable"):
    """A remaining gate cannot be signed by the team as staffed (`project check`, `template check --team`):
    the report names each such gate, why, and the smallest change that fixes it."""


class DatabaseProblem(PhasegateError, exit_code=2, http_status=503, kind="unavailable"):
    """The database cannot be used: unreachable, not a database, newer schema, bad URL."""


class ServerUnavailable(DatabaseProblem):
    """``phasegate --server``: the server cannot be reached, or answered with something that is not
    phasegate's API (a proxy's error page, another program on that port)."""


class Unauthenticated(PhasegateError, exit_code=4, http_status=401, kind="unauthenticated"):
    """No credential, or one that is not (or no longer) valid: who acts is not known."""


class Throttled(PhasegateError, exit_code=4, http_status=429, kind="throttled"):
    """Too many failed sign-ins for this name or address, or too many codes asked or mistyped for a
    signing link: wait before trying again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LinkUnusable(PhasegateError, exit_code=4, http_status=410, kind="link_unusable"):
    """A signing link (issue 24) that is unknown, expired, revoked or already used for a decision: one
    answer for all, which says nothing of the project."""

    def __init__(self, message: str = "this link can no longer be used") -> None:
        super().__init__(message)


class BadRequest(UsageError, http_status=400):
    """The request itself is malformed in a way no field's value explains (a header that must come
    once came twice): answered 400, with the kind of any bad input."""


class TooLarge(UsageError, exit_code=2, http_status=413, kind="too_large"):
    """What was sent is bigger than phasegate accepts (a request body, an upload): refused before
    it costs more than the limit's worth of memory or time."""


class TooSlow(UsageError, exit_code=2, http_status=408, kind="too_slow"):
    """What was sent did not arrive in time (a request's headers or body, trickled): the connection is
    not held open for it any longer."""


class Busy(PhasegateError, exit_code=5, http_status=503, kind="busy"):
    """The server is at a bound it keeps to stay up (password checks or database connections in
    use): nothing was done; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PreconditionFailed(Conflict, exit_code=5, http_status=412, kind="precondition_failed"):
    """The project moved on since the caller read it (``If-Match``): nobody signs what they did not see."""


class DeliverablesChanged(PreconditionFailed):
    """An approval was sent with the digests of deliverables that are no longer the current ones
    (a new version came in since they were read): refused like a stale `If-Match`, with the
    current set, so nobody signs bytes they did not see."""

    def __init__(self, message: str, current: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.current = dict(current)

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out["deliverables"] = self.current
        return out


# -- the way back: an error body (HTTP, or the CLI's --json on stderr) as the exception it describes ----

# kind -> the class that reports it. Each class names its own kind; where several share one,
# the table holds the one a body can be rebuilt into (a DefinitionError is told apart by its
# problems, a ServerUnavailable is only ever raised by the client itself).
KINDS: dict[str, type[PhasegateError]] = {
    cls.kind: cls
    for cls in (RuleRefused, UsageError, NotFound, NotPermitted, Conflict, PreconditionFailed, AuditBroken,
                Unsignable, DatabaseProblem, Unauthenticated, Throttled, TooLarge, TooSlow, Busy,
                LinkUnusable)
}


def every_error_class(cls: type[PhasegateError] = PhasegateError) -> list[type[PhasegateError]]:
    """``cls`` and the subclasses declared here, each before its own, in the order they are declared
    (a subclass elsewhere, such as replay's ``Unreplayable``, reports as the class it extends)."""
    return [cls, *(c for sub in cls.__subclasses__() if sub.__module__ == __name__
                   for c in every_error_class(sub))]


def kinds_answered_with(status: int) -> list[str]:
    """The kinds of error body an HTTP ``status`` carries, from the classes that answer with it."""
    return list(dict.fromkeys(cls.kind for cls in every_error_class() if cls.http_status == status))


def markdown_table() -> str:
    """Every error class as a markdown table (the docs' errors reference shows it, generated at build)."""
    lines = ["| exception | exit code | HTTP status | kind | when |", "| --- | --- | --- | --- | --- |"]
    for cls in every_error_class():
        when = " ".join((cls.__doc__ or "").split()).replace("``", "`")
        lines.append(f"| `{cls.__name__}` | {cls.exit_code} | {cls.http_status} | `{cls.kind}` | {when} |")
    return "\n".join(lines) + "\n"


#: The kind of a 500's body: a failure of phasegate itself, never raised on purpose (its detail is logged).
INTERNAL = "internal"
#: Every kind an error body can carry, for the API's description of it.
ALL_KINDS: tuple[str, ...] = (*KINDS, INTERNAL)
_PROBLEM_KEYS = frozenset({"source", "line", "column", "message"})


def error_from_dict(body: Mapping[str, Any], *, retry_after: int = 0) -> PhasegateError:
    """The inverse of :meth:`PhasegateError.to_dict`: the same class, message, blockers and problems.

    ``retry_after``: for a ``throttled`` body, the seconds its response's Retry-After header said.
    A kind this version does not know is a plain :class:`PhasegateError` with the message.
    """
    kind, message = body.get("kind"), str(body.get("message") or "the server refused the request")
    problems = body.get("problems")
    if kind == UsageError.kind and isinstance(problems, list) and problems and all(
        isinstance(p, dict) and p.keys() >= _PROBLEM_KEYS for p in problems
    ):
        return DefinitionError([Problem(str(p["source"]), p["line"], p["column"], str(p["message"]))
                                for p in problems])
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is RuleRefused:
        blockers = body.get("blockers")
        return RuleRefused(message, [str(b) for b in blockers] if isinstance(blockers, list) else None)
    if cls is Throttled:
        return Throttled(message, retry_after)
    if cls is Busy:
        return Busy(message, retry_after or 1)
    if cls is PreconditionFailed and isinstance(body.get("deliverables"), dict):
        return DeliverablesChanged(message, body["deliverables"])
    return (cls or PhasegateError)(message)
