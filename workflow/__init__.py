"""phasegate's engine package: templates, state machines, storage and the Engine API.

``Engine`` is imported lazily so that ``import workflow.errors`` (and the CLI's
``--help``) does not pay for SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflow.errors import (
    AuditBroken,
    Conflict,
    DatabaseProblem,
    DefinitionError,
    NotFound,
    NotPermitted,
    PhasegateError,
    Problem,
    RuleRefused,
    UsageError,
)

if TYPE_CHECKING:
    from workflow.engine import Engine

__all__ = [
    "AuditBroken",
    "Conflict",
    "DatabaseProblem",
    "DefinitionError",
    "Engine",
    "NotFound",
    "NotPermitted",
    "PhasegateError",
    "Problem",
    "RuleRefused",
    "UsageError",
]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from workflow.engine import Engine

        return Engine
    raise AttributeError(f"module 'workflow' has no attribute {name!r}")
