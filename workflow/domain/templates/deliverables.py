"""A phase's ``deliverables:`` read from the template (stage 4 and 5 of the loader, for this one key).

Each item is a mapping checked against ``schema.LEVELS["deliverable"]``: a key unique within the
phase, a title, ``by`` (the roles that may add versions; absent: the roles with a task in the
phase, and the lead — filled in once the lead is known, :func:`finish`), ``required`` (default
true), ``carry_over`` (``note`` and/or ``name``). Every problem is collected, located, as
everywhere in the loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workflow.domain.templates import schema
from workflow.domain.templates.definition import Deliverable
from workflow.domain.templates.reader import quote
from workflow.domain.templates.shape import INVALID, is_empty, kind_of

if TYPE_CHECKING:
    from workflow.domain.templates.loader import _Builder


def read(builder: _Builder, key: Node, node: Node, what: str) -> Any:
    """The phase's deliverables as dicts (``by`` None where absent), or INVALID (reported)."""
    label = builder.phase_label
    items = builder.items(node, f"{label} 'deliverables'", "deliverables")
    if items is INVALID:
        return INVALID
    found: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    ok = True
    for index, item in enumerate(items):
        name = _key_of(item)
        where = f"{label} deliverable {quote(name)}" if name else f"{label} deliverable #{index + 1}"
        values = builder.fields(item, "deliverable", where)
        if name in first_line:
            builder.add(_key_node(item), f"{label} declares the deliverable {quote(name)} twice "
                                         f"(first at line {first_line[name]}); each needs its own key")
            ok = False
        elif name:
            first_line[name] = _key_node(item).start_mark.line + 1
        if values is None or INVALID in values.values():
            ok = False
            continue
        found.append(values)
    return tuple(found) if ok else INVALID


def _key_of(item: Node) -> str:
    node = _key_node(item)
    if node is item or not isinstance(node, ScalarNode):
        return ""
    return node.value if schema.PHASE_KEY.fullmatch(node.value) else ""


def _key_node(item: Node) -> Node:
    if isinstance(item, MappingNode):
        for k, v in item.value:
            if isinstance(k, ScalarNode) and k.value == "key":
                return v
    return item


def by_roles(builder: _Builder, key: Node, node: Node, what: str) -> Any:
    """``by``: a non-empty list of declared role keys, none twice."""
    if not isinstance(node, SequenceNode) or not node.value:
        builder.add(key if is_empty(node) else node,
                    f"{what} must be {schema.KINDS['role_refs']}, not {kind_of(node)}")
        return INVALID
    roles: dict[str, None] = {}
    ok = True
    for item in node.value:
        if not isinstance(item, ScalarNode) or not item.value:
            builder.add(item, f"{what} must list role keys, not {kind_of(item)}")
            ok = False
        elif item.value in roles:
            builder.add(item, f"{what} lists {quote(item.value)} twice")
            ok = False
        else:
            roles[item.value] = None
            builder.role_refs.append((item.value, item, f"{what} {quote(item.value)}"))
    return tuple(roles) if ok else INVALID


def carry_over(builder: _Builder, key: Node, node: Node, what: str) -> Any:
    """``carry_over``: a list of ``note`` and ``name`` (what may change while approvals still count)."""
    items = builder.items(node, what, "carry_over")
    if items is INVALID:
        return INVALID
    kept: list[str] = []
    for item in items:
        if not isinstance(item, ScalarNode) or item.value not in schema.CARRY_OVER:
            shown = quote(item.value) if isinstance(item, ScalarNode) else kind_of(item)
            builder.add(item, f"{what} may name {' and '.join(schema.CARRY_OVER)} only, not {shown}: a "
                              f"new version whose bytes changed always voids the approvals of the old one")
            return INVALID
        if item.value not in kept:
            kept.append(item.value)
    return tuple(kept)


def finish(values: tuple[dict[str, Any], ...], task_roles: tuple[str, ...], lead: str
           ) -> tuple[Deliverable, ...]:
    """The deliverables built, each ``by`` filled where the template left it out."""
    default = tuple(dict.fromkeys((*task_roles, lead)))
    return tuple(
        Deliverable(key=v["key"], title=v["title"], by=v["by"] or default, required=v["required"],
                    carry_over=tuple(v["carry_over"]), description=v["description"])
        for v in values
    )
