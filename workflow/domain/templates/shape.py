"""Stage 4 of reading a template: a mapping checked against the schema table, its plain values converted.

:mod:`workflow.domain.templates.schema` says which keys each level allows or requires and
what kind of value each holds; :class:`ShapeChecker` walks one mapping by that
table and converts the kinds that need nothing but their node (keys, texts,
booleans, approver counts). The template's structures and the references
between them are :mod:`workflow.domain.templates.loader`'s. Every refusal is collected,
never raised, so a user sees all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workflow.domain.templates import schema
from workflow.domain.templates.reader import quote
from workflow.errors import Problem

__all__ = ["INVALID", "ShapeChecker", "is_empty", "kind_of"]

_NUMBER = re.compile(r"[+-]?[0-9]{1,9}")


def kind_of(node: Node) -> str:
    """What a refused value was, for the sentence: "a mapping", "a list", "the text 'x'", "nothing"."""
    if isinstance(node, MappingNode):
        return "a mapping" if node.value else "an empty mapping"
    if isinstance(node, SequenceNode):
        return "a list" if node.value else "an empty list"
    return f"the text {quote(node.value)}" if node.value else "nothing"


def is_empty(node: Node) -> bool:
    """A value left empty (nothing, or only blanks): absent when optional, reported at its key otherwise."""
    return isinstance(node, ScalarNode) and not node.value.strip()


class _Invalid:
    """Marks a value already refused (and reported), so later checks do not pile on."""


INVALID: Any = _Invalid()


class ShapeChecker:
    """Checks mappings against :data:`workflow.domain.templates.schema.LEVELS`, collecting every problem.

    A subclass adds the converters of its structures to ``converters`` (one per
    kind the schema names); the plain kinds here need nothing but the node.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.converters: dict[str, Callable[[Node, Node, str], Any]] = {
            "template_key": lambda k, v, what: self.key(v, what, schema.TEMPLATE_KEY, "template_key"),
            "role_key": lambda k, v, what: self.key(v, what, schema.ROLE_KEY, "role_key"),
            "phase_key": lambda k, v, what: self.key(v, what, schema.PHASE_KEY, "phase_key"),
            "title": lambda k, v, what: self.text(k, v, what, schema.MAX_TITLE_LENGTH, single_line=True),
            "description": lambda k, v, what: self.description(v, what),
            "required": self.required,
            "boolean": self.boolean,
        }

    # -- reporting

    def add(self, node: Node | None, message: str) -> None:
        mark = node.start_mark if node is not None else None
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        self.problems.append(Problem(self.source, line, column, message))

    # -- the generic walk

    def fields(
        self, node: Node, level: str, where: str, key_node: Node | None = None
    ) -> dict[str, Any] | None:
        """Check a mapping against the schema level; convert each known field by its kind.

        Returns field name -> converted value (defaults filled, ``INVALID`` for
        refused values), or None when ``node`` is not a mapping at all.
        """
        spec = schema.LEVELS[level]
        if not isinstance(node, MappingNode):
            at = key_node if key_node is not None and is_empty(node) else node
            self.add(at, f"{where} must be a mapping with the keys {', '.join(spec)}, not {kind_of(node)}")
            return None
        found: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else ""
            if name in spec:
                found[name] = (key, value)
            else:
                self.add(key, self.unknown_key_message(where, name, level))
        result: dict[str, Any] = {}
        for name, field in spec.items():
            if name in found:
                key, value = found[name]
                if field.required and is_empty(value) and field.kind not in ("roles", "phases"):
                    self.add(key, f"{where} has an empty '{name}'; it needs {schema.KINDS[field.kind]}")
                    result[name] = INVALID
                else:
                    result[name] = self.converters[field.kind](key, value, f"{where} {name}")
            elif field.required:
                self.add(node, f"{where} is missing '{name}' ({schema.KINDS[field.kind]})")
                result[name] = INVALID
            else:
                result[name] = field.default
        return result

    def unknown_key_message(self, where: str, name: str, level: str) -> str:
        allowed = schema.allowed_keys(level)
        message = f"{where} has an unknown key {quote(name)} (allowed: {', '.join(allowed)})"
        if len(self.problems) >= schema.MAX_PROBLEMS:
            return message  # past what is shown: no need to look for a close match
        import difflib  # only on this unhappy path

        close = difflib.get_close_matches(name, allowed, n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
        return message

    def items(self, node: Node, what: str, kind: str) -> Any:
        """An optional list's items (none when left empty), or INVALID (reported) when it is not a list."""
        if is_empty(node):
            return []
        if not isinstance(node, SequenceNode):
            self.add(node, f"{what} must be {schema.KINDS[kind]}, not {kind_of(node)}")
            return INVALID
        return node.value

    # -- converters of plain values

    def key(self, node: Node, what: str, pattern: re.Pattern[str], kind: str) -> Any:
        if not isinstance(node, ScalarNode):
            self.add(node, f"{what} must be {schema.KINDS[kind]}, not {kind_of(node)}")
            return INVALID
        value = node.value
        if len(value) > schema.MAX_KEY_LENGTH or not pattern.fullmatch(value):
            self.add(node, f"{what} {quote(value)} is not valid: it must be {schema.KINDS[kind]}")
            return INVALID
        return value

    def text(self, key: Node | None, node: Node, what: str, limit: int, single_line: bool) -> Any:
        if not isinstance(node, ScalarNode):
            self.add(node, f"{what} must be text, not {kind_of(node)}")
            return INVALID
        value = node.value
        if not value.strip():
            self.add(key if key is not None else node, f"{what} is empty")
            return INVALID
        if len(value) > limit:
            self.add(node, f"{what} is {len(value):,} characters long; at most {limit} are allowed")
            return INVALID
        if single_line and any(ch in value for ch in "\t\n\r"):
            self.add(node, f"{what} must be one line of text, without tabs or line breaks")
            return INVALID
        return value

    def description(self, node: Node, what: str) -> Any:
        if is_empty(node):
            return None  # an optional text left empty is simply absent
        return self.text(None, node, what, schema.MAX_DESCRIPTION_LENGTH, single_line=False)

    def boolean(self, key: Node, node: Node, what: str) -> Any:
        if isinstance(node, ScalarNode) and node.value in ("true", "false"):
            return node.value == "true"
        at = key if is_empty(node) else node
        self.add(at, f"{what} must be true or false, not {kind_of(node)}")
        return INVALID

    def required(self, key: Node, node: Node, what: str) -> Any:
        if isinstance(node, ScalarNode):
            if node.value in ("all", "any"):
                return node.value
            if _NUMBER.fullmatch(node.value):
                return int(node.value)  # the range is checked against the approvers in the loader's gate()
        at = key if is_empty(node) else node
        self.add(at, f"{what} must be all, any or a whole number of approver roles, not {kind_of(node)}")
        return INVALID

