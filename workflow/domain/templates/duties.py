"""A gate's ``distinct_from:`` read from the template (separation of duties across gates).

Each item names earlier work in the same project whose people may not sign this gate:

* ``PHASE`` or ``PHASE.gate``: whoever signed that phase's gate (or signed it on someone's behalf);
* ``PHASE.task.ROLE``: whoever did ROLE's task in that phase (or did it on someone's behalf).

The references are kept written out in full (``sow.gate``, ``partners.task.integrated_producer``)
and checked once every phase is known (:func:`check`): the phase must exist, have that gate or
that task, and not be the gate's own phase (four-eyes inside one gate is ``distinct_people``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yaml.nodes import Node, ScalarNode

from workflow.domain.templates import schema
from workflow.domain.templates.reader import quote
from workflow.domain.templates.shape import INVALID, kind_of

if TYPE_CHECKING:
    from workflow.domain.templates.definition import Gate
    from workflow.domain.templates.loader import _Builder


def read(builder: _Builder, key: Node, node: Node, what: str) -> Any:
    """The references as written out in full (``sow`` -> ``sow.gate``), or INVALID (reported)."""
    items = builder.items(node, what, "duty_refs")
    if items is INVALID:
        return INVALID
    refs: dict[str, None] = {}
    ok = True
    for item in items:
        parts = item.value.split(".") if isinstance(item, ScalarNode) else []
        full = _full(parts)
        if full is None:
            given = quote(item.value) if isinstance(item, ScalarNode) else kind_of(item)
            builder.add(item, f"{what} lists {given}; write a phase key, PHASE.gate or PHASE.task.ROLE")
            ok = False
            continue
        if full in refs:
            builder.add(item, f"{what} lists {quote(full)} twice")
            ok = False
            continue
        refs[full] = None
        builder.duty_refs.append((full, item, what, builder.phase_key))
    return tuple(refs) if ok else INVALID


def _full(parts: list[str]) -> str | None:
    keys_ok = all(schema.PHASE_KEY.fullmatch(p) for p in parts)
    if not keys_ok:
        return None
    if len(parts) == 1 or (len(parts) == 2 and parts[1] == "gate"):
        return f"{parts[0]}.gate"
    if len(parts) == 3 and parts[1] == "task":
        return ".".join(parts)
    return None


def check(builder: _Builder, phases: list[dict[str, Any]]) -> None:
    """Every reference names a gate or a task of another phase of this template."""
    by_key = {p["key"]: p for p in phases if isinstance(p, dict)}
    listing = ", ".join(by_key)
    for full, node, what, own in builder.duty_refs:
        phase_key, kind, *role = full.split(".")
        phase = by_key.get(phase_key)
        if phase is None:
            builder.add(node, f"{what} names {quote(phase_key)}, which is not a phase of this template "
                              f"(phases: {listing})")
        elif phase_key == own and kind == "gate":
            builder.add(node, f"{what} names its own gate; four-eyes inside one gate is distinct_people")
        elif kind == "gate" and not phase["gate"]:
            builder.add(node, f"{what} names the gate of phase {quote(phase_key)}, which has no gate")
        elif kind == "task" and role[0] not in (phase["tasks"] or {}):
            tasks = ", ".join(phase["tasks"] or {}) or "none"
            builder.add(node, f"{what} names the task of {quote(role[0])} in phase {quote(phase_key)}, "
                              f"which has no such task (its tasks: {tasks})")


def named(gate: Gate, phase: str, role: str | None = None) -> bool:
    """Whether ``gate``'s ``distinct_from`` names ``phase``'s gate (``role`` None) or ``role``'s task."""
    return (f"{phase}.gate" if role is None else f"{phase}.task.{role}") in gate.distinct_from
