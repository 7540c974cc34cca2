"""How a project command declared in :mod:`workflow.domain.commands` runs on the Engine: its inputs
checked (each declared parameter's own check, or the body's ``inputs``), then its body, registered
here with ``@implements("approve")``, in the command's transaction on the project as locked
(:func:`workflow.engine.running.project_command`), the request id's fingerprint the command's action
and its checked arguments.

A body takes the locked project's :class:`~workflow.domain.rules.Context`, the transaction and the
checked arguments; it asks the command's rule first (``rules.may_<name>``) and records its event.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from workflow.domain.audit.events import Event
from workflow.domain.commands import COMMANDS
from workflow.domain.rules import Context
from workflow.engine.running import project_command
from workflow.storage.store import Store
from workflow.storage.transaction import WriteTx

B = TypeVar("B", bound=Callable[..., Event])
Inputs = Callable[..., dict[str, Any]]


class Body(NamedTuple):
    run: Callable[..., Event]  # (ctx, tx, **checked) -> the event
    inputs: Inputs | None  # (**given) -> the checked arguments; None: each parameter's declared check
    # Each declared parameter's name and its check (None: taken as given), read off the declaration
    # once: every command's call runs them.
    checks: tuple[tuple[str, Callable[[Any], Any] | None], ...]


BODIES: dict[str, Body] = {}


def implements(name: str, *, inputs: Inputs | None = None) -> Callable[[B], B]:
    """Register the decorated function as the body of the declared command ``name``: it takes
    ``(ctx, tx)`` and then the declared parameters (or the names ``inputs`` returns)."""
    declared = COMMANDS[name]

    def register(run: B) -> B:
        if name in BODIES:
            raise ValueError(f"the command {name!r} has two bodies")
        takes, wanted = list(inspect.signature(run).parameters)[2:], [p.name for p in declared.params]
        if inputs is None and takes != wanted:
            raise TypeError(f"the body of {name} takes {takes}; its declaration {wanted}")
        BODIES[name] = Body(run, inputs, tuple((p.name, p.arg.checked) for p in declared.params))
        return run

    return register


def run(store: Store, name: str, given: dict[str, Any]) -> Event:
    """The command ``name`` with the arguments of its call (``code``, its parameters, ``actor``,
    ``request_id``, ``expected_seq``)."""
    body = BODIES[name]
    if body.inputs is not None:
        args = body.inputs(**{key: given[key] for key, _check in body.checks})
    else:
        args = {key: given[key] if check is None else check(given[key]) for key, check in body.checks}

    def work(ctx: Context, tx: WriteTx) -> Event:
        return body.run(ctx, tx, **args)

    return project_command(store, given["code"], given["actor"], given["request_id"],
                           {"command": COMMANDS[name].action, **args}, work,
                           expected_seq=given["expected_seq"])
