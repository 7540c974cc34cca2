"""Compile a Definition into a ``transitions`` state machine, once per template version.

States are the template's phases plus ``on_hold``, ``completed`` and ``cancelled``.
Triggers: ``advance`` (phase -> next phase, the last one -> completed), ``reject``
(a gated phase -> its ``on_reject`` phase), ``hold`` (phase -> on_hold), ``resume``
(on_hold -> the phase it was held in), ``cancel`` (phase or on_hold -> cancelled).

The machine is built with ``model=None`` and ``auto_transitions=False`` (the default
would add a ``to_<phase>()`` trigger that skips every gate) and never holds a
project: each call binds a short-lived :class:`Binding` through
``machine.events[trigger].trigger(binding)``. Conditions call back into the binding,
which raises a :class:`~workflow.errors.RuleRefused` naming what is missing instead
of returning a bare False.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from transitions import EventData, Machine, MachineError

from workflow.domain.templates.definition import Definition
from workflow.domain.vocabulary import ACTIVE, CANCELLED, CLOSED, COMPLETED, ON_HOLD, STATUS_STATES, Status
from workflow.errors import RuleRefused


class Binding:
    """The one object a machine sees during a trigger: a phase-or-status and two checks.

    ``state`` is the project's phase while it is active, else its status. ``held_phase``
    is the phase a held project resumes into. ``check_advance`` is called by the
    machine's ``advance`` condition and must raise RuleRefused with the blockers, or
    return True.
    """

    __slots__ = ("check_advance", "held_phase", "state")

    def __init__(
        self,
        state: str,
        held_phase: str | None = None,
        check_advance: Callable[[], bool] | None = None,
    ) -> None:
        self.state = state
        self.held_phase = held_phase
        self.check_advance = check_advance


def _ready(event: EventData) -> bool:
    binding = event.model
    assert isinstance(binding, Binding)
    if binding.check_advance is None:
        return True
    return binding.check_advance()


def _resumes_into(phase: str) -> Callable[[EventData], bool]:
    def condition(event: EventData) -> bool:
        binding = event.model
        return isinstance(binding, Binding) and binding.held_phase == phase

    condition.__name__ = f"held_in_{phase}"
    return condition


@lru_cache(maxsize=256)
def compile_machine(definition: Definition) -> Machine:
    """The machine for one template version; cached, so each version compiles once per process."""
    phases = list(definition.phase_keys)
    machine = Machine(
        model=None,
        states=[*phases, *STATUS_STATES],
        initial=phases[0],
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
        name=f"{definition.key}",
    )
    for i, phase in enumerate(definition.phases):
        dest = phases[i + 1] if i + 1 < len(phases) else COMPLETED
        machine.add_transition("advance", phase.key, dest, conditions=[_ready])
        if phase.gate is not None:
            machine.add_transition("reject", phase.key, phase.gate.on_reject)
        machine.add_transition("hold", phase.key, ON_HOLD)
        machine.add_transition("resume", ON_HOLD, phase.key, conditions=[_resumes_into(phase.key)])
        machine.add_transition("cancel", phase.key, CANCELLED)
    machine.add_transition("cancel", ON_HOLD, CANCELLED)
    return machine


def fire(machine: Machine, trigger: str, binding: Binding, **kwargs: Any) -> str:
    """Run ``trigger`` on ``binding`` and return the new state, or raise RuleRefused.

    The caller has already checked who may act; this is where the template decides
    whether the move exists from the current state at all.
    """
    event = machine.events.get(trigger)
    if event is None:
        raise RuleRefused(f"this template has no '{trigger}' move")
    try:
        moved = event.trigger(binding, **kwargs)
    except MachineError:
        raise RuleRefused(_not_from(trigger, binding.state)) from None
    if not moved:  # a condition said no without explaining; should not happen
        raise RuleRefused(_not_from(trigger, binding.state))
    return binding.state


def position(phase: str, status: Status) -> str:
    """The machine state of a project: its phase while active, else its status (the phase is kept
    beside it: the one a held project resumes into, or where it ended)."""
    return phase if status == ACTIVE else status


def settle(dest: str, phase: str) -> tuple[str, Status]:
    """(phase, status) after the machine moved to ``dest`` from a project in ``phase``."""
    for status in STATUS_STATES:
        if dest == status:
            return phase, status
    return dest, ACTIVE


def _not_from(trigger: str, state: str) -> str:
    if state in CLOSED:
        return f"the project is {state}; nothing can {trigger} it any more"
    if state == ON_HOLD:
        return f"the project is on hold; resume it before you {trigger} it"
    if trigger == "reject":
        return f"the phase '{state}' has no gate to reject"
    if trigger == "resume":
        return "the project is not on hold"
    return f"cannot {trigger} from '{state}'"


def transition_table(machine: Machine) -> list[tuple[str, str, str]]:
    """Every (source, trigger, dest) edge of the compiled machine, in definition order."""
    edges: list[tuple[str, str, str]] = []
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                edges.append((source, trigger, str(transition.dest)))
    return edges
