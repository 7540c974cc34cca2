"""Every refusal phasegate can give, under one base class.

Each subclass carries the exit code the command line maps it to, so the CLI
translates errors in exactly one place (``cli.py``) and a script using the
Python API can catch :class:`PhasegateError` alone.
"""

from __future__ import annotations

from dataclasses import dataclass


class PhasegateError(Exception):
    """Base of every error phasegate raises on purpose; ``str()`` is a sentence."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class RuleRefused(PhasegateError):
    """The workflow's rules forbid this move now (tasks open, gate unsigned, wrong status)."""

    exit_code = 1

    def __init__(self, message: str, blockers: list[str] | None = None) -> None:
        super().__init__(message)
        self.blockers = list(blockers or [])


class UsageError(PhasegateError):
    """The input itself is malformed (a bad code, a bad time, an empty reason)."""

    exit_code = 2


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


class DefinitionError(UsageError):
    """A template is invalid; ``problems`` lists every problem found, in file order."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the template"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class NotFound(PhasegateError):
    """A project, template, role or person named by the user does not exist."""

    exit_code = 3


class NotPermitted(PhasegateError):
    """The acting person lacks the role or grant this command needs."""

    exit_code = 4


class Conflict(PhasegateError):
    """The thing exists already, or changed meanwhile and retries ran out."""

    exit_code = 5


class AuditBroken(PhasegateError):
    """Audit verification found an edited, missing, reordered or forked event."""

    exit_code = 6


class DatabaseProblem(PhasegateError):
    """The database cannot be used: unreachable, not a database, newer schema, bad URL."""

    exit_code = 2
