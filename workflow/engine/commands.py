"""The project commands' bodies, by name: ``@implements("approve")`` registers the function that runs
the command declared in :mod:`workflow.domain.commands`, and the Engine's method of that name calls it.

A body takes the Engine's store, then exactly the declaration's parameters (checked here, when the
module that holds it is imported: a body cannot drift from the API every transport builds from the
declaration).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from workflow.domain.audit.events import Event
from workflow.domain.commands import COMMANDS, ProjectCommands

B = TypeVar("B", bound=Callable[..., Event])
BODIES: dict[str, Callable[..., Event]] = {}


def implements(name: str) -> Callable[[B], B]:
    """Register the decorated function as the body of the declared command ``name``."""
    declared = COMMANDS[name]

    def register(body: B) -> B:
        if name in BODIES:
            raise ValueError(f"the command {name!r} has two bodies")
        wanted = inspect.signature(getattr(ProjectCommands, name))
        have = inspect.signature(body)
        if _shape(wanted, 1) != _shape(have, 1):
            raise TypeError(f"the body of {name} takes {have}; its declaration ({declared.path}) {wanted}")
        BODIES[name] = body
        return body

    return register


def _shape(sig: inspect.Signature, skip: int) -> list[tuple[str, Any, bool]]:
    """The parameters' names, kinds and whether they are required (``self``/``store`` skipped)."""
    return [(p.name, p.kind, p.default is p.empty and p.name != "actor")
            for p in list(sig.parameters.values())[skip:]]
